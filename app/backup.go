package app

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/hostkeys"
	gossh "golang.org/x/crypto/ssh"
)

// backupMiddleware answers `ssh host backup` for admins: the store's file as
// of one moment on stdout (redirect it: ssh -p 2222 host backup > portal.db),
// or with --all a tar of the data directory's state (store, host key,
// sandbox and its keys), taken while the portal keeps serving. Anything
// else passes on to the UI.
func (a *App) backupMiddleware(next ssh.Handler) ssh.Handler {
	return func(s ssh.Session) {
		args := s.Command()
		if len(args) == 0 || args[0] != "backup" {
			next(s)
			return
		}
		k := s.PublicKey()
		if k == nil || a.admins == nil || !a.admins.IsAdmin(gossh.FingerprintSHA256(k)) {
			wish.Fatalln(s, "backup: only admins can take backups (their keys are in the admin keys file).")
			return
		}
		if _, _, pty := s.Pty(); pty {
			wish.Fatalln(s, "backup: the backup is binary; redirect it to a file without a terminal: ssh -p <port> <host> backup > portal.db")
			return
		}
		bs, ok := a.store.(backupStore)
		if !ok {
			wish.Fatalln(s, "backup: this portal's store is PostgreSQL; back it up with pg_dump (README: Operating the portal).")
			return
		}
		all := false
		for _, arg := range args[1:] {
			switch arg {
			case "--all":
				all = true
			default:
				wish.Fatalf(s, "backup: unknown argument %q; use `backup` (the store) or `backup --all` (a tar with the host key and sandbox)\n", arg)
				return
			}
		}
		log := a.log.With("key", gossh.FingerprintSHA256(k), "all", all)
		start := time.Now()
		var n int64
		var err error
		if all {
			n, err = a.backupAll(s, bs)
		} else {
			n, err = bs.Backup(s, nil)
		}
		if err != nil {
			log.Error("backup failed", "err", err)
			wish.Fatalln(s, "backup failed: "+err.Error())
			return
		}
		log.Info("backup taken", "bytes", n, "duration", time.Since(start).Round(time.Millisecond).String())
		_ = s.Exit(0)
	}
}

// backupAll writes a tar of what a restore needs: portal.db (a consistent
// copy), the host key (clients pin it), and in sandbox mode sandbox.db with
// its API key and webhook secret; the admin keys file when it lives in the
// data directory. Extract it into an empty data directory to restore.
func (a *App) backupAll(w io.Writer, bs backupStore) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	now := time.Now()
	snapshot := func(name string, backup func(io.Writer, func(int64) error) (int64, error)) error {
		_, err := backup(tw, func(size int64) error {
			return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg})
		})
		return err
	}
	if err := snapshot("portal.db", bs.Backup); err != nil {
		return cw.n, err
	}
	if a.sandbox != nil {
		if err := snapshot("sandbox.db", a.sandbox.Backup); err != nil {
			return cw.n, err
		}
	}
	files := []string{hostkeys.FileName, "sandbox_api_key", "webhook_secret"}
	if filepath.Dir(a.cfg.AdminKeysPath) == filepath.Clean(a.cfg.DataDir) {
		files = append(files, filepath.Base(a.cfg.AdminKeysPath))
	}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(a.cfg.DataDir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return cw.n, fmt.Errorf("read %s: %w", name, err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return cw.n, err
		}
		if _, err := tw.Write(data); err != nil {
			return cw.n, err
		}
	}
	err := tw.Close()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// backupStore is the bbolt store's consistent snapshot; PostgreSQL has
// pg_dump for that.
type backupStore interface {
	Backup(w io.Writer, header func(size int64) error) (int64, error)
}
