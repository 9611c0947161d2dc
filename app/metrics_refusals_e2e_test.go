package app_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	gossh "golang.org/x/crypto/ssh"
)

// What the journey of TestMetricsAfterAJourney never meets, /metrics counts
// when it happens (issue 15): a client that speaks no SSH and one that
// offers a password (handshake failures, an attempt rejected), a session
// past the per-IP rate (refused by the rate limit), a short-link lookup past
// its rate.
func TestMetricsCountRefusalsAndFailures(t *testing.T) {
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.RateLimit, c.RateBurst = 0.001, 1 // one session, then refusals
		c.HTTPLimits.LinkRate, c.HTTPLimits.LinkBurst = 0.001, 1
	}))
	addr := p.App.SSHAddr()

	// Not SSH at all.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	conn.Close()

	// A password: the portal offers keys only, so the client's first
	// attempt (none) is rejected and it gives up.
	if _, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: "x", Auth: []gossh.AuthMethod{gossh.Password("hunter2")},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	}); err == nil {
		t.Fatal("password authentication succeeded")
	}

	// Two sessions from one address: the second is past the rate.
	signer := portaltest.NewKey(t)
	session := func() (string, error) {
		t.Helper()
		c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
			User: "x", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		out, err := s.CombinedOutput("status")
		return string(out), err
	}
	if out, _ := session(); strings.Contains(out, "Too many") {
		t.Fatalf("first session refused: %q", out)
	}
	if out, _ := session(); !strings.Contains(out, "Too many new connections") {
		t.Fatalf("second session not refused by the rate: %q", out)
	}

	// Two short-link lookups: the second is past the rate.
	for i, want := range []int{http.StatusNotFound, http.StatusTooManyRequests} {
		resp, err := http.Get("http://" + p.App.HTTPAddr() + "/l/nosuchlink")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("link lookup %d = %d, want %d", i, resp.StatusCode, want)
		}
	}

	// A session's end is counted when its handler returns, a failed
	// handshake when the server reads the end of the connection.
	var m scrape
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m = scrapeMetrics(t, p.App.MetricsAddr())
		open, _ := m.value("portal_ssh_sessions_open")
		failed, _ := m.value("portal_ssh_handshake_failures_total")
		if (open == 0 && failed == 2) || time.Now().After(deadline) {
			break
		}
	}
	m.want(t, 2, "portal_ssh_handshake_failures_total")
	// Go's client tries "none" first on each of its three connections.
	m.want(t, 3, "portal_ssh_auth_attempts_total", "method", "none", "result", "rejected")
	m.want(t, 2, "portal_ssh_auth_attempts_total", "method", "publickey", "result", "accepted")
	m.want(t, 1, "portal_ssh_refused_total", "reason", "rate")
	m.want(t, 2, "portal_ssh_sessions_started_total") // the refused one started, then was refused
	m.want(t, 0, "portal_ssh_sessions_open")
	m.want(t, 2, "portal_ssh_session_duration_seconds")
	m.want(t, 0, "portal_ssh_panics_recovered_total")
	m.want(t, 1, "portal_http_refused_total", "reason", "link_rate")
}
