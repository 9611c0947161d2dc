package portaltest

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"golang.org/x/crypto/ssh"
)

// NewKey returns a fresh ed25519 client key.
func NewKey(tb testing.TB) ssh.Signer {
	tb.Helper()
	s, err := newKey()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newKey() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}
