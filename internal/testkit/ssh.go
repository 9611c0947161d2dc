package testkit

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// NewSigner returns a fresh ed25519 key.
func NewSigner(tb testing.TB) ssh.Signer {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// ClientConfig logs in as user with signer's key. It accepts only hostKey,
// or any host key when hostKey is nil (a server the test started on a key
// it does not know). The dial timeout is a hang guard.
func ClientConfig(user string, signer ssh.Signer, hostKey ssh.PublicKey) *ssh.ClientConfig {
	check := ssh.InsecureIgnoreHostKey()
	if hostKey != nil {
		check = ssh.FixedHostKey(hostKey)
	}
	return &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: check, Timeout: 10 * time.Second}
}

// Dial connects to addr with cfg; the connection closes when the test ends
// if the caller has not closed it before.
func Dial(tb testing.TB, addr string, cfg *ssh.ClientConfig) *ssh.Client {
	tb.Helper()
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		tb.Fatalf("ssh %s@%s: %v", cfg.User, addr, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Session opens a session on c.
func Session(tb testing.TB, c *ssh.Client) *ssh.Session {
	tb.Helper()
	s, err := c.NewSession()
	if err != nil {
		tb.Fatalf("session as %s: %v", c.User(), err)
	}
	return s
}

// AuthorizedKey returns a fresh ed25519 public key and its authorized_keys
// line, with comment after it unless comment is empty.
func AuthorizedKey(tb testing.TB, comment string) (line string, key ssh.PublicKey) {
	tb.Helper()
	key = NewSigner(tb).PublicKey()
	line = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if comment != "" {
		line += " " + comment
	}
	return line, key
}
