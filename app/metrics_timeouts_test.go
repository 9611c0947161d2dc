package app_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
)

// The metrics server closes idle keep-alive connections and request bodies
// trickled in too slowly, as the main HTTP server does (issue 11 item 3):
// -metrics-addr may be reachable by strangers too.
func TestMetricsServerTimeouts(t *testing.T) {
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.HTTPLimits.ReadTimeout = 500 * time.Millisecond
		c.HTTPLimits.IdleTimeout = 500 * time.Millisecond
	}))
	addr := p.App.MetricsAddr()
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		return err == nil // EOF: closed by the server; a timeout is an error
	}
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %v %v", resp, err)
	}
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
	if !closedWithin(idle, 5*time.Second) {
		t.Error("idle keep-alive: connection still open 5s after a 0.5s idle timeout")
	}
	if !closedWithin(slow, 5*time.Second) {
		t.Error("slow request: connection still open 5s after a 0.5s read timeout")
	}
}
