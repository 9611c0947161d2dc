// Package secfile checks files that hold secrets or grant power (host key,
// API keys, webhook secret, admin keys) as sshd's StrictModes checks
// authorized_keys: the file, and every directory above it up to the root,
// must be owned by the server's user or root and not writable by group or
// others, since whoever can write any of them can replace the file. A
// private file must not be readable by group or others either.
//
// A root-owned directory with the sticky bit (/tmp) is accepted although
// everyone may write it: there, only an entry's owner may rename or remove
// it, so the entries below it are as safe as their own modes make them.
//
// Errors name the file or directory and the command that fixes it.
package secfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Kind says what a file may allow others.
type Kind int

const (
	// Private files (keys, secrets) are neither readable nor writable by
	// group or others: chmod 600.
	Private Kind = iota
	// Public files (admin keys) may be read by anyone but written only by
	// their owner: chmod go-w.
	Public
)

// Check checks path, whose current information is fi (from the open
// file's Stat, so that the file checked is the file read), and the
// directories above it. what names the file in errors, e.g. "host key".
func Check(path string, fi fs.FileInfo, kind Kind, what string) error {
	return check(path, fi, kind, what, os.Geteuid())
}

func check(path string, fi fs.FileInfo, kind Kind, what string, euid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a regular file (mode %s)", what, path, fi.Mode())
	}
	if uid, ok := owner(fi); ok && uid != euid && uid != 0 {
		return fmt.Errorf("%s %s is owned by uid %d, not by this server's user (uid %d) or root; "+
			"if its content is yours, run `chown %d %s`", what, path, uid, euid, euid, path)
	}
	perm := fi.Mode().Perm()
	switch {
	case kind == Private && perm&0o077 != 0:
		return fmt.Errorf("%s %s is accessible by group or others (mode %04o); it must be private: run `chmod 600 %s`", what, path, perm, path)
	case perm&0o022 != 0:
		return fmt.Errorf("%s %s is writable by group or others (mode %04o); run `chmod go-w %s`", what, path, perm, path)
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if err := checkDir(dir, abs, what, euid); err != nil {
			return err
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}

func checkDir(dir, file, what string, euid int) error {
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: directory %s: %w", what, file, dir, err)
	}
	uid, known := owner(di)
	if known && uid != euid && uid != 0 {
		return fmt.Errorf("%s %s: directory %s is owned by uid %d, not by this server's user (uid %d) or root, "+
			"so that user can replace the file; move the file to a directory of yours, or run `chown %d %s`",
			what, file, dir, uid, euid, euid, dir)
	}
	sticky := di.Mode()&fs.ModeSticky != 0 && known && uid == 0
	if di.Mode().Perm()&0o022 != 0 && !sticky {
		return fmt.Errorf("%s %s: directory %s is writable by group or others (mode %04o), so they can replace the file; run `chmod go-w %s`",
			what, file, dir, di.Mode().Perm(), dir)
	}
	return nil
}

// ReadFile reads a secret file after checking it (see Check). A missing
// file is returned as an error wrapping fs.ErrNotExist.
func ReadFile(path string, kind Kind, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if err := Check(path, fi, kind, what); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
