package hostkeys

import (
	"errors"
	"fmt"
	"io/fs"
)

// Several instances behind one load balancer must present one host key, or
// clients see it change from connection to connection. They share it as a
// file (Load) or as PEM in the environment (Parse); neither creates a key.

// Load returns the host key at path with the checks of LoadOrCreate (a
// regular file, mode 0600 or stricter, an unencrypted ed25519 key), and
// never creates one: a missing file is an error.
func Load(path string) (Key, error) {
	k, err := load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Key{}, fmt.Errorf("hostkeys: %s does not exist; create it once with `ssh-keygen -t ed25519 -N '' -f %s` and give every instance the same file", path, path)
	}
	return k, err
}

// Parse returns the host key in data, an OpenSSH private key in PEM form
// (what `ssh-keygen -t ed25519` writes). source names where data came from
// in errors, e.g. the environment variable; the key itself is never quoted.
func Parse(data []byte, source string) (Key, error) {
	return parse(data, source)
}
