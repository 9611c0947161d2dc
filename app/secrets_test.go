package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Secret files are checked as sshd checks authorized_keys (issue 11): each
// case starts a portal once on a fresh data dir, weakens one file or
// directory as an attacker on the same machine would want it, and expects
// the next start to refuse with the path and the fix.
func TestStartRefusesUnsafeSecretFiles(t *testing.T) {
	start := func(dir string) error {
		a, err := New(Config{SSHAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: dir})
		if err == nil {
			a.closeAll()
		}
		return err
	}
	cases := []struct {
		name   string
		weaken func(t *testing.T, dir string) string // returns the path the error must name
		fix    string
		root   bool // needs to chown
	}{
		{"world-writable data dir", func(t *testing.T, dir string) string {
			chmod(t, dir, 0o777)
			return dir
		}, "chmod go-w", false},
		{"sandbox key readable by others", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "sandbox_api_key")
			chmod(t, p, 0o644)
			return p
		}, "chmod 600", false},
		{"webhook secret readable by group", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "webhook_secret")
			chmod(t, p, 0o640)
			return p
		}, "chmod 600", false},
		{"admin keys writable by group", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "admin_keys")
			writeFile(t, p, 0o620)
			return p
		}, "chmod go-w", false},
		{"admin keys owned by another user", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "admin_keys")
			writeFile(t, p, 0o644)
			if err := os.Chown(p, 4242, 4242); err != nil {
				t.Skipf("chown needs root: %v", err)
			}
			return p
		}, "chown", true},
		{"host key owned by another user", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "ssh_host_ed25519_key")
			if err := os.Chown(p, 4242, 4242); err != nil {
				t.Skipf("chown needs root: %v", err)
			}
			return p
		}, "chown", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := start(dir); err != nil {
				t.Fatalf("first start: %v", err)
			}
			path := c.weaken(t, dir)
			err := start(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.fix) {
				t.Fatalf("start after weakening %s: %v; want a refusal naming it and %q", path, err, c.fix)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("# no admins\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chmod(t, path, mode)
}
