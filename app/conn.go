package app

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portal/portal/internal/onclose"
)

// servingListener closes serving on its first Accept. charmbracelet/ssh's
// Serve registers the listener (a WaitGroup Add) just before that, and a
// Shutdown racing ahead of the registration is a data race in the library.
type servingListener struct {
	net.Listener
	once    sync.Once
	serving chan struct{}
}

func newServingListener(l net.Listener) *servingListener {
	return &servingListener{Listener: l, serving: make(chan struct{})}
}

func (l *servingListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.serving) })
	return l.Listener.Accept()
}

// httpBusy is written to a connection refused past the HTTP connection cap,
// before any request is read: a browser shows it, and Stripe retries a
// webhook delivery that gets a 5xx.
const httpBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 5\r\nConnection: close\r\nContent-Length: 38\r\n\r\nToo many connections; try again soon.\n"

// limitHTTP caps the connections ln's server holds open at once. Unlike
// x/net's LimitListener, which stops accepting, it refuses at once: held
// back in the kernel's queue, a health check would wait behind an attack.
func limitHTTP(ln net.Listener, max int, refused func()) net.Listener {
	return &httpLimitListener{Listener: ln, max: int64(max), refused: refused}
}

type httpLimitListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused func()
}

func (l *httpLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(httpBusy))
			_ = c.Close()
			if l.refused != nil {
				l.refused()
			}
			continue
		}
		return onclose.Conn(c, func() { l.open.Add(-1) }), nil
	}
}
