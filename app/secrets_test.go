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
	// Each case weakens file (the data dir itself when empty): writes it
	// first if write, then chmods it to mode unless 0, then gives it to
	// another user if chown (which needs root, or the case is skipped).
	cases := []struct {
		name  string
		file  string
		write bool
		mode  os.FileMode
		chown bool
		fix   string
	}{
		{"world-writable data dir", "", false, 0o777, false, "chmod go-w"},
		{"sandbox key readable by others", "sandbox_api_key", false, 0o644, false, "chmod 600"},
		{"webhook secret readable by group", "webhook_secret", false, 0o640, false, "chmod 600"},
		{"admin keys writable by group", "admin_keys", true, 0o620, false, "chmod go-w"},
		{"admin keys owned by another user", "admin_keys", true, 0o644, true, "chown"},
		{"host key owned by another user", "ssh_host_ed25519_key", false, 0, true, "chown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := start(dir); err != nil {
				t.Fatalf("first start: %v", err)
			}
			path := filepath.Join(dir, c.file)
			if c.write {
				if err := os.WriteFile(path, []byte("# no admins\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if c.mode != 0 {
				if err := os.Chmod(path, c.mode); err != nil {
					t.Fatal(err)
				}
			}
			if c.chown {
				if err := os.Chown(path, 4242, 4242); err != nil {
					t.Skipf("chown needs root: %v", err)
				}
			}
			err := start(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.fix) {
				t.Fatalf("start after weakening %s: %v; want a refusal naming it and %q", path, err, c.fix)
			}
		})
	}
}
