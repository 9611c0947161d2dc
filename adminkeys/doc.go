// Package adminkeys decides which SSH keys are the portal's admins, from a
// file in OpenSSH authorized_keys format.
//
// Keys are compared by SHA256 fingerprint ("SHA256:..."), the form the SSH
// layer reports for the key a session authenticated with. The file is
// re-read when it changes: every IsAdmin call stats it (one syscall) and
// re-parses it when its size, modification time or identity differ from the
// last read, so adding or removing an admin needs no restart.
//
// The file fails closed: a missing or unreadable file, or one that group or
// others can write (as sshd's StrictModes), means no admins, and a
// line that does not parse is logged and skipped. Key options are not
// enforced, so lines carrying options are skipped rather than silently
// widened: an entry restricted with from="..." must not grant admin from
// everywhere, and a cert-authority line names a CA, not an admin.
package adminkeys
