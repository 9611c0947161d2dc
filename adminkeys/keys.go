package adminkeys

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/portal/portal/internal/secfile"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

// Keys is the set of admin keys read from one authorized_keys file. It is
// safe for concurrent use.
type Keys struct {
	path   string
	logger *slog.Logger

	mu   sync.Mutex
	info fs.FileInfo // of the last read; nil when the file was missing or unreadable
	fps  map[string]struct{}
}

// Load reads the admin keys file at path. A missing file is not an error (no
// admins until it appears); any other failure to read it is. Malformed lines
// are logged and skipped. A nil logger discards.
func Load(path string, logger *slog.Logger) (*Keys, error) {
	if path == "" {
		return nil, errors.New("adminkeys: empty path")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	k := &Keys{path: path, logger: logger, fps: map[string]struct{}{}}
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Path returns the file the keys come from.
func (k *Keys) Path() string { return k.path }

// IsAdmin reports whether fingerprint (SHA256 form) is listed in the file as
// it is now. It re-reads the file first if it changed; if the file is gone or
// cannot be read, nobody is an admin.
func (k *Keys) IsAdmin(fingerprint string) bool {
	if !strings.HasPrefix(fingerprint, "SHA256:") {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshLocked()
	_, ok := k.fps[fingerprint]
	return ok
}

// Fingerprints returns the admin fingerprints as of the last read, in no
// particular order (for logs and the ops view; it does not re-read).
func (k *Keys) Fingerprints() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]string, 0, len(k.fps))
	for fp := range k.fps {
		out = append(out, fp)
	}
	return out
}

// refreshLocked re-reads the file when its stat differs from the last read.
func (k *Keys) refreshLocked() {
	info, err := os.Stat(k.path)
	if err == nil && k.info != nil && sameVersion(info, k.info) {
		return
	}
	if err != nil && k.info == nil && len(k.fps) == 0 {
		return // still missing: nothing to log again
	}
	if err := k.reloadLocked(); err != nil {
		k.logger.Error("admin keys: cannot read file; no admins until it is readable", "path", k.path, "err", err)
	}
}

func (k *Keys) reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reloadLocked()
}

// reloadLocked replaces the set with the file's current content. On any
// error the set is emptied: the file fails closed.
func (k *Keys) reloadLocked() error {
	k.fps, k.info = map[string]struct{}{}, nil
	f, err := os.Open(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		k.logger.Warn("admin keys: file not found; no admins", "path", k.path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("adminkeys: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("adminkeys: %w", err)
	}
	// As sshd's StrictModes: whoever can write this file, or replace it in
	// a directory above, can make themselves an admin.
	if err := secfile.Check(k.path, info, secfile.Public, "adminkeys: admin keys file"); err != nil {
		return err
	}
	fps := map[string]struct{}{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fp, ok, why := parseLine(sc.Bytes())
		if why != "" {
			k.logger.Warn("admin keys: line skipped", "path", k.path, "line", n, "reason", why)
		}
		if ok {
			fps[fp] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("adminkeys: %s: %w", k.path, err)
	}
	k.fps, k.info = fps, info
	k.logger.Info("admin keys loaded", "path", k.path, "keys", len(fps))
	return nil
}

// parseLine returns the fingerprint of one authorized_keys line; ok is false
// for blank lines, comments and skipped lines, and why says why a line that
// is neither blank nor a comment was skipped.
func parseLine(line []byte) (fp string, ok bool, why string) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return "", false, ""
	}
	pub, _, options, rest, err := gossh.ParseAuthorizedKey(line)
	switch {
	case err != nil:
		return "", false, "not an authorized_keys entry"
	case len(options) > 0:
		return "", false, "key options are not supported"
	case len(bytes.TrimSpace(rest)) > 0:
		return "", false, "one key per line"
	}
	if _, isCert := pub.(*gossh.Certificate); isCert {
		return "", false, "certificates are not supported"
	}
	return gossh.FingerprintSHA256(pub), true, ""
}

// sameVersion reports whether two stats describe the same file content as
// far as a stat can tell: same file (not replaced by a rename), size and
// modification time.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode()
}
