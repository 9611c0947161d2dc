package app

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/ssh"
)

type handshakeKey struct{}

// handshakeConn caps every deadline the SSH library sets until the first
// session starts. The library resets the deadline on each read and write
// (to its idle timeout, or to none), which would otherwise lift ours.
type handshakeConn struct {
	net.Conn
	until atomic.Int64 // unix nanos; 0 once a session has started
}

func (c *handshakeConn) SetDeadline(t time.Time) error {
	if u := c.until.Load(); u != 0 {
		if limit := time.Unix(0, u); t.IsZero() || t.After(limit) {
			t = limit
		}
	}
	return c.Conn.SetDeadline(t)
}

// release lifts the cap; the library's own idle timeout applies from here.
func (c *handshakeConn) release() {
	if c.until.Swap(0) != 0 {
		_ = c.Conn.SetDeadline(time.Time{})
	}
}

// withHandshakeDeadline wraps each accepted connection in a handshakeConn
// that must open a session within timeout.
func withHandshakeDeadline(now func() time.Time, timeout time.Duration) ssh.Option {
	return func(srv *ssh.Server) error {
		srv.ConnCallback = func(ctx ssh.Context, conn net.Conn) net.Conn {
			hc := &handshakeConn{Conn: conn}
			until := now().Add(timeout)
			hc.until.Store(until.UnixNano())
			_ = conn.SetDeadline(until)
			ctx.SetValue(handshakeKey{}, hc)
			return hc
		}
		return nil
	}
}

// releaseHandshake is the outermost middleware: a session has started, so
// the connection is past its handshake.
func releaseHandshake(next ssh.Handler) ssh.Handler {
	return func(s ssh.Session) {
		if hc, ok := s.Context().Value(handshakeKey{}).(*handshakeConn); ok {
			hc.release()
		}
		next(s)
	}
}

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
