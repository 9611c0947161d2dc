package app

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	gossh "golang.org/x/crypto/ssh"
)

func startWithHandshake(t *testing.T, timeout time.Duration) *App {
	t.Helper()
	a := newApp(t, Config{HandshakeTimeout: timeout})
	runApp(t, a)
	return a
}

// dialSSH logs in to a with a fresh key, opening no session.
func dialSSH(t *testing.T, a *App) *gossh.Client {
	t.Helper()
	return testkit.Dial(t, a.SSHAddr(), testkit.ClientConfig("t", testkit.NewSigner(t), nil))
}

// closedWithin reports whether wait returns within d (a hang guard: the
// handshake timeout in these tests is far shorter).
func closedWithin(d time.Duration, wait func()) bool {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestSilentConnectionIsClosed(t *testing.T) {
	a := startWithHandshake(t, 300*time.Millisecond)
	c, err := net.Dial("tcp", a.SSHAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedWithin(10*time.Second, func() { _, _ = io.Copy(io.Discard, c) }) {
		t.Fatal("a connection that never spoke was still open after 10s")
	}
}

func TestConnectionWithoutSessionIsClosed(t *testing.T) {
	a := startWithHandshake(t, 300*time.Millisecond)
	client := dialSSH(t, a)
	if !closedWithin(10*time.Second, func() { _ = client.Wait() }) {
		t.Fatal("an authenticated connection that opened no session (ssh -N) was still open after 10s")
	}
}

func TestSessionOutlivesHandshakeTimeout(t *testing.T) {
	a := startWithHandshake(t, 300*time.Millisecond)
	client := dialSSH(t, a)
	sess := testkit.Session(t, client)
	defer sess.Close()
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // more than three handshake timeouts
	// The connection still carries new sessions.
	out, err := client.NewSession()
	if err != nil {
		t.Fatalf("connection closed under an open session: %v", err)
	}
	out.Close()
}
