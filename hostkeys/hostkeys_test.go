package hostkeys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestCreateThenReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, FileName); k1.Path != want {
		t.Errorf("Path = %q, want %q", k1.Path, want)
	}
	fi, err := os.Stat(k1.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key mode = %04o, want 0600", got)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode = %04o, want 0700", got)
	}
	if got := k1.Signer.PublicKey().Type(); got != ssh.KeyAlgoED25519 {
		t.Errorf("key type = %s, want %s", got, ssh.KeyAlgoED25519)
	}
	if !strings.HasPrefix(k1.Fingerprint(), "SHA256:") {
		t.Errorf("Fingerprint = %q, want SHA256:...", k1.Fingerprint())
	}
	if !strings.Contains(string(k1.PEM), "BEGIN OPENSSH PRIVATE KEY") {
		t.Errorf("PEM is not in OpenSSH format:\n%s", k1.PEM)
	}
	onDisk, err := os.ReadFile(k1.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(k1.PEM) {
		t.Error("PEM differs from the file's content")
	}

	k2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Fingerprint() != k2.Fingerprint() {
		t.Errorf("fingerprint changed across loads: %s then %s", k1.Fingerprint(), k2.Fingerprint())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the key (temporary file left behind?)", len(entries))
	}
}

func TestConcurrentFirstStartAgree(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	fps := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreate(dir)
			if err != nil {
				t.Error(err)
				return
			}
			fps[i] = k.Fingerprint()
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if fps[i] != fps[0] {
			t.Fatalf("concurrent starts got different keys: %v", fps)
		}
	}
}

func TestSignatureVerifies(t *testing.T) {
	k, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("session id")
	sig, err := k.Signer.Sign(rand.Reader, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Signer.PublicKey().Verify(data, sig); err != nil {
		t.Fatal(err)
	}
}

// wantErr asserts that LoadOrCreate on dir fails with a message naming the
// key file and containing every hint.
func wantErr(t *testing.T, dir string, hints ...string) {
	t.Helper()
	_, err := LoadOrCreate(dir)
	if err == nil {
		t.Fatal("LoadOrCreate succeeded, want an error")
	}
	msg := err.Error()
	path := filepath.Join(dir, FileName)
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name %s", msg, path)
	}
	for _, h := range hints {
		if !strings.Contains(msg, h) {
			t.Errorf("error %q does not contain %q", msg, h)
		}
	}
}

func TestLooseModeRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o666} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			k, err := LoadOrCreate(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(k.Path, mode); err != nil {
				t.Fatal(err)
			}
			wantErr(t, dir, "chmod 600 "+k.Path)
			// The key must be left as it was, not replaced.
			if err := os.Chmod(k.Path, 0o600); err != nil {
				t.Fatal(err)
			}
			k2, err := LoadOrCreate(dir)
			if err != nil {
				t.Fatal(err)
			}
			if k2.Fingerprint() != k.Fingerprint() {
				t.Error("key replaced after a refused start")
			}
		})
	}
}

func TestGarbageRefused(t *testing.T) {
	for name, content := range map[string]string{
		"empty":     "",
		"text":      "not a key\n",
		"truncated": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			wantErr(t, dir, "not a valid")
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != content {
				t.Error("a bad key file was overwritten")
			}
		})
	}
}

func TestWrongKeyTypeRefused(t *testing.T) {
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(t, dir, "want ed25519", "ssh-keygen -t ed25519")
}

func TestNotRegularFileRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	wantErr(t, dir, "not a regular file")
}

func TestUnreadableRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files regardless of mode")
	}
	dir := t.TempDir()
	k, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(k.Path, 0o000); err != nil {
		t.Fatal(err)
	}
	wantErr(t, dir, "cannot read")
}

func TestUncreatableDirectory(t *testing.T) {
	parent := t.TempDir()
	blocker := filepath.Join(parent, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreate(filepath.Join(blocker, "data"))
	if err == nil {
		t.Fatal("LoadOrCreate under a regular file succeeded")
	}
	if !strings.Contains(err.Error(), blocker) {
		t.Errorf("error %q does not name the directory", err)
	}
}

func TestLoadsSSHKeygenKey(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	out, err := exec.Command(keygen, "-l", "-f", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), k.Fingerprint()) {
		t.Errorf("ssh-keygen says %q, Fingerprint = %s", out, k.Fingerprint())
	}
}
