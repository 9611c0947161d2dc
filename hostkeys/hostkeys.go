package hostkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portal/portal/internal/secfile"
	"golang.org/x/crypto/ssh"
)

// FileName is the host key's file name inside the data directory, the name
// OpenSSH uses for the same key.
const FileName = "ssh_host_ed25519_key"

// Key is a loaded host key.
type Key struct {
	// Path is the key file's path, for wish.WithHostKeyPath.
	Path string
	// Signer signs with the key, for an ssh.ServerConfig.
	Signer ssh.Signer
	// PEM is the file's content, for wish.WithHostKeyPEM.
	PEM []byte
}

// Fingerprint returns the key's SHA256 fingerprint as OpenSSH prints it
// ("SHA256:" followed by unpadded base64).
func (k Key) Fingerprint() string {
	return ssh.FingerprintSHA256(k.Signer.PublicKey())
}

// LoadOrCreate returns the host key stored in dir/ssh_host_ed25519_key,
// creating dir (0700) and the key (0600) if the file does not exist.
//
// Creation is atomic: the key is written to a temporary file and linked into
// place, so a crash mid-write never leaves a truncated key behind, and two
// processes starting at once on a fresh directory end up with the same key.
// An existing directory's mode is left alone; only the key file's mode is
// checked.
func LoadOrCreate(dir string) (Key, error) {
	path := filepath.Join(dir, FileName)
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Key{}, fmt.Errorf("hostkeys: create directory %s: %w", dir, err)
	}
	if err := create(path); err != nil {
		return Key{}, err
	}
	return load(path)
}

// load reads and checks the key at path. A missing file is returned as an
// error wrapping fs.ErrNotExist.
func load(path string) (Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Key{}, err
		}
		return Key{}, fmt.Errorf("hostkeys: %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Key{}, fmt.Errorf("hostkeys: %s is not a regular file (mode %s); move it away to have a new key created", path, fi.Mode())
	}
	data, err := secfile.ReadFile(path, secfile.Private, "hostkeys: host key")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return Key{}, fmt.Errorf("hostkeys: cannot read %s: %w; make it readable by the server's user (`chown` it to that user, then `chmod 600 %s`)", path, err, path)
	}
	if err != nil {
		return Key{}, err
	}
	k, err := parse(data, path)
	k.Path = path
	return k, err
}

// parse checks that data is an unencrypted ed25519 OpenSSH private key;
// source names where it came from in errors.
func parse(data []byte, source string) (Key, error) {
	raw, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		return Key{}, fmt.Errorf("hostkeys: %s is not a valid unencrypted OpenSSH private key: %w; restore it from a backup, or move it away to have a new key created (clients will then see a changed host key)", source, err)
	}
	var priv ed25519.PrivateKey
	switch v := raw.(type) {
	case ed25519.PrivateKey:
		priv = v
	case *ed25519.PrivateKey:
		priv = *v
	default:
		return Key{}, fmt.Errorf("hostkeys: %s holds a %T key, want ed25519; make one with `ssh-keygen -t ed25519 -N '' -f FILE`", source, raw)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return Key{}, fmt.Errorf("hostkeys: %s: %w", source, err)
	}
	return Key{Signer: signer, PEM: data}, nil
}

// create writes a fresh ed25519 key to path unless a file already exists
// there, in which case it returns nil and leaves that file alone.
func create(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("hostkeys: generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "portal host key")
	if err != nil {
		return fmt.Errorf("hostkeys: encode key: %w", err)
	}
	// CreateTemp makes the file 0600 from the start, so the key is never
	// briefly readable by others.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+FileName+".tmp*")
	if err != nil {
		return fmt.Errorf("hostkeys: create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return fmt.Errorf("hostkeys: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("hostkeys: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("hostkeys: close %s: %w", tmp.Name(), err)
	}
	// Link, unlike rename, fails when the target exists: a key another
	// process created meanwhile wins and ours is discarded.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("hostkeys: install %s: %w", path, err)
	}
	// Persist the directory entry too, so the key survives a power cut
	// right after first start.
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("hostkeys: open directory of %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("hostkeys: sync directory of %s: %w", path, err)
	}
	return nil
}
