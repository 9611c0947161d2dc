package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func startWithHandshake(t *testing.T, timeout time.Duration) *App {
	t.Helper()
	a, err := New(Config{SSHAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), HandshakeTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

func clientConfig(t *testing.T) *gossh.ClientConfig {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &gossh.ClientConfig{User: "t", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey()}
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
	client, err := gossh.Dial("tcp", a.SSHAddr(), clientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if !closedWithin(10*time.Second, func() { _ = client.Wait() }) {
		t.Fatal("an authenticated connection that opened no session (ssh -N) was still open after 10s")
	}
}

func TestSessionOutlivesHandshakeTimeout(t *testing.T) {
	a := startWithHandshake(t, 300*time.Millisecond)
	client, err := gossh.Dial("tcp", a.SSHAddr(), clientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
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
