package adminkeys

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	gossh "golang.org/x/crypto/ssh"
)

// newKey returns an authorized_keys line (with a comment) and its fingerprint.
func newKey(tb testing.TB, comment string) (line, fp string) {
	tb.Helper()
	line, key := testkit.AuthorizedKey(tb, comment)
	return line, gossh.FingerprintSHA256(key)
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// adminsFile writes content to a fresh admins file and returns its path.
func adminsFile(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "admins")
	writeFile(tb, path, content)
	return path
}

func mustLoad(tb testing.TB, path string) *Keys {
	tb.Helper()
	k, err := Load(path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// bump moves the file's mtime so the change is visible whatever the
// filesystem's timestamp granularity (two ed25519 lines have equal length).
func bump(tb testing.TB, path string, n int) {
	tb.Helper()
	t := time.Date(2030, 1, 1, 0, 0, n, 0, time.UTC)
	if err := os.Chtimes(path, t, t); err != nil {
		tb.Fatal(err)
	}
}

func TestLoadParsesAndSkips(t *testing.T) {
	a, fpA := newKey(t, "alice@laptop")
	b, fpB := newKey(t, "")
	c, fpC := newKey(t, "restricted")
	d, fpD := newKey(t, "")
	path := adminsFile(t, strings.Join([]string{
		"# ops team",
		"",
		a,
		"   " + b + "   ",
		"ssh-ed25519 not-base64!!",
		"garbage",
		`from="10.0.0.0/8" ` + c,
		"cert-authority " + d,
	}, "\n")+"\n")
	var logs bytes.Buffer
	k, err := Load(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for fp, want := range map[string]bool{fpA: true, fpB: true, fpC: false, fpD: false, "": false, "SHA256:": false} {
		if got := k.IsAdmin(fp); got != want {
			t.Errorf("IsAdmin(%q) = %v, want %v", fp, got, want)
		}
	}
	if n := len(k.Fingerprints()); n != 2 {
		t.Errorf("Fingerprints: %d keys, want 2", n)
	}
	for _, line := range []string{"line=5", "line=6", "line=7", "line=8"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("no warning for %s in logs:\n%s", line, logs.String())
		}
	}
	if strings.Contains(logs.String(), "line=1 ") || strings.Contains(logs.String(), "line=2 ") {
		t.Errorf("comment or blank line logged:\n%s", logs.String())
	}
}

func TestIsAdminIgnoresOtherForms(t *testing.T) {
	a, fpA := newKey(t, "")
	k := mustLoad(t, adminsFile(t, a+"\n"))
	// The fingerprint is the only accepted form: not the key itself, not the
	// MD5 form, not a case-folded variant.
	for _, s := range []string{a, strings.TrimPrefix(fpA, "SHA256:"), strings.ToLower(fpA), fpA + " "} {
		if k.IsAdmin(s) {
			t.Errorf("IsAdmin(%q) = true", s)
		}
	}
}

func TestMissingFileMeansNoAdminsUntilItAppears(t *testing.T) {
	a, fpA := newKey(t, "")
	path := filepath.Join(t.TempDir(), "admins")
	k, err := Load(path, nil)
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if k.IsAdmin(fpA) {
		t.Fatal("admin without a file")
	}
	writeFile(t, path, a+"\n")
	if !k.IsAdmin(fpA) {
		t.Fatal("new file not picked up")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if k.IsAdmin(fpA) {
		t.Fatal("still admin after the file was removed")
	}
}

func TestRereadOnChange(t *testing.T) {
	a, fpA := newKey(t, "")
	b, fpB := newKey(t, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "admins")
	writeFile(t, path, a+"\n")
	bump(t, path, 1)
	k := mustLoad(t, path)
	if !k.IsAdmin(fpA) || k.IsAdmin(fpB) {
		t.Fatal("initial set wrong")
	}

	// In-place edit, same size.
	writeFile(t, path, b+"\n")
	bump(t, path, 2)
	if k.IsAdmin(fpA) || !k.IsAdmin(fpB) {
		t.Fatal("in-place edit not picked up")
	}

	// Atomic replace by rename, even with the same size and mtime.
	tmp := filepath.Join(dir, "admins.new")
	writeFile(t, tmp, a+"\n")
	bump(t, tmp, 2)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if !k.IsAdmin(fpA) || k.IsAdmin(fpB) {
		t.Fatal("replacement by rename not picked up")
	}
}

func TestWritableByOthersFailsClosed(t *testing.T) {
	a, fpA := newKey(t, "")
	path := adminsFile(t, a+"\n")
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("Load of a world-writable file: err = %v", err)
	}

	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	k := mustLoad(t, path)
	if !k.IsAdmin(fpA) {
		t.Fatal("not admin with a 0600 file")
	}
	if err := os.Chmod(path, 0o620); err != nil {
		t.Fatal(err)
	}
	if k.IsAdmin(fpA) {
		t.Fatal("still admin after the file became group-writable")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if !k.IsAdmin(fpA) {
		t.Fatal("not admin again after chmod go-w")
	}
}

func TestLoadRejectsEmptyPath(t *testing.T) {
	if _, err := Load("", nil); err == nil {
		t.Fatal("Load(\"\") succeeded")
	}
}

func BenchmarkIsAdmin(b *testing.B) {
	a, fpA := newKey(b, "")
	k := mustLoad(b, adminsFile(b, a+"\n"))
	for b.Loop() {
		if !k.IsAdmin(fpA) {
			b.Fatal("not admin")
		}
	}
}
