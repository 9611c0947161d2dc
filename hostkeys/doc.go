// Package hostkeys loads or creates the SSH server's ed25519 host key.
//
// The key lives in dir/ssh_host_ed25519_key in the OpenSSH private key format
// that ssh-keygen writes, so an operator can inspect it with
// `ssh-keygen -l -f <path>` or replace it with one of their own. It is created
// on first start (file 0600, directory 0700) and reused on every later start:
// a host key that changes across restarts makes every client print "REMOTE
// HOST IDENTIFICATION HAS CHANGED".
//
// A key file that cannot be read, does not parse, is not ed25519, or is
// readable by group or others is an error naming the file and the fix; the
// package never silently replaces or repairs an existing key.
package hostkeys
