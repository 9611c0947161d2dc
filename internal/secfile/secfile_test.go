package secfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each case builds a file under a fresh directory, weakens it or a
// directory above it, and expects ReadFile to refuse with the path at fault
// and the command that fixes it (or to accept, for the safe layouts).
func TestReadFileRefusesWhatSSHDWouldRefuse(t *testing.T) {
	const other = 4242 // a uid that is neither this process's nor root's
	cases := []struct {
		name  string
		kind  Kind
		setup func(t *testing.T, dir string) (path, blame string)
		fix   string // "" means the file is accepted
		chown bool   // needs to give a file away, so root
	}{
		{"private file 0600", Private, func(t *testing.T, dir string) (string, string) {
			return file(t, dir, 0o600), ""
		}, "", false},
		{"private file readable by others", Private, func(t *testing.T, dir string) (string, string) {
			p := file(t, dir, 0o644)
			return p, p
		}, "chmod 600", false},
		{"private file readable by group", Private, func(t *testing.T, dir string) (string, string) {
			p := file(t, dir, 0o640)
			return p, p
		}, "chmod 600", false},
		{"public file readable by others", Public, func(t *testing.T, dir string) (string, string) {
			return file(t, dir, 0o644), ""
		}, "", false},
		{"public file writable by group", Public, func(t *testing.T, dir string) (string, string) {
			p := file(t, dir, 0o664)
			return p, p
		}, "chmod go-w", false},
		{"directory above writable by others", Private, func(t *testing.T, dir string) (string, string) {
			p := file(t, dir, 0o600)
			mustChmod(t, dir, 0o777)
			return p, dir
		}, "chmod go-w", false},
		{"directory two above writable by group", Public, func(t *testing.T, dir string) (string, string) {
			sub := filepath.Join(dir, "sub")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			p := file(t, sub, 0o644)
			mustChmod(t, dir, 0o775)
			return p, dir
		}, "chmod go-w", false},
		{"symlink into a writable directory", Private, func(t *testing.T, dir string) (string, string) {
			open := filepath.Join(dir, "open")
			if err := os.Mkdir(open, 0o700); err != nil {
				t.Fatal(err)
			}
			target := file(t, open, 0o600)
			mustChmod(t, open, 0o777)
			link := filepath.Join(dir, "link")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link, open
		}, "chmod go-w", false},
		{"file owned by another user", Public, func(t *testing.T, dir string) (string, string) {
			p := file(t, dir, 0o644)
			mustChown(t, p, other)
			return p, p
		}, "chown", true},
		{"directory above owned by another user", Private, func(t *testing.T, dir string) (string, string) {
			p := file(t, dir, 0o600)
			mustChown(t, dir, other)
			return p, dir
		}, "chown", true},
		{"root-owned sticky directory above", Private, func(t *testing.T, dir string) (string, string) {
			sticky := filepath.Join(dir, "sticky")
			if err := os.Mkdir(sticky, 0o700); err != nil {
				t.Fatal(err)
			}
			mustChown(t, sticky, 0)
			mustChmod(t, sticky, 0o777|fs.ModeSticky)
			return file(t, sticky, 0o600), ""
		}, "", true},
		{"sticky directory above owned by another user", Private, func(t *testing.T, dir string) (string, string) {
			sticky := filepath.Join(dir, "sticky")
			if err := os.Mkdir(sticky, 0o700); err != nil {
				t.Fatal(err)
			}
			p := file(t, sticky, 0o600)
			mustChown(t, sticky, other)
			mustChmod(t, sticky, 0o777|fs.ModeSticky)
			return p, sticky
		}, "chown", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.chown && os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root")
			}
			path, blame := c.setup(t, t.TempDir())
			_, err := ReadFile(path, c.kind, "test secret")
			switch {
			case c.fix == "" && err != nil:
				t.Fatalf("refused a safe layout: %v", err)
			case c.fix == "":
			case err == nil:
				t.Fatalf("accepted; want a refusal naming %s and %q", blame, c.fix)
			case !strings.Contains(err.Error(), blame) || !strings.Contains(err.Error(), c.fix) || !strings.HasPrefix(err.Error(), "test secret"):
				t.Fatalf("%v; want it to name the file, %s and %q", err, blame, c.fix)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none"), Private, "test secret")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
}

// file writes a secret named "secret" in dir with mode perm.
func file(t *testing.T, dir string, perm fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, "secret")
	if err := os.WriteFile(p, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustChmod(t, p, perm)
	return p
}

func mustChmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mustChown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}
