package hostkeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key shared as a file or as PEM is the same key, and neither way creates one.
func TestSharedKeyFromFileAndPEM(t *testing.T) {
	dir := t.TempDir()
	made, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Load(made.Path)
	if err != nil {
		t.Fatal(err)
	}
	fromPEM, err := Parse(made.PEM, "PORTAL_HOST_KEY")
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.Fingerprint() != made.Fingerprint() || fromPEM.Fingerprint() != made.Fingerprint() {
		t.Fatalf("fingerprints differ: made %s, file %s, PEM %s", made.Fingerprint(), fromFile.Fingerprint(), fromPEM.Fingerprint())
	}

	missing := filepath.Join(dir, "nope")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), "ssh-keygen") {
		t.Fatalf("Load of a missing file = %v; want an error saying how to make one", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("Load created a key")
	}
	_, err = Parse([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n"), "PORTAL_HOST_KEY")
	if err == nil || !strings.Contains(err.Error(), "PORTAL_HOST_KEY") || strings.Contains(err.Error(), "garbage") {
		t.Fatalf("Parse of garbage = %v; want an error naming the source, not quoting the key", err)
	}
}
