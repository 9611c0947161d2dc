// Package boltcopy writes a consistent copy of a running bbolt file, the one
// way both the store and the sandbox take their backups.
package boltcopy

import (
	"io"

	bolt "go.etcd.io/bbolt"
)

// WriteTo writes a copy of db as of one moment to w and returns the bytes
// written. It runs in a read transaction, so writers go on meanwhile (bbolt
// never blocks them on readers), though pages freed during a long copy are
// reused only after it. header, when not nil, is told the copy's size before
// it is written (a tar header needs it first).
func WriteTo(db *bolt.DB, w io.Writer, header func(size int64) error) (int64, error) {
	var n int64
	err := db.View(func(tx *bolt.Tx) error {
		if header != nil {
			if err := header(tx.Size()); err != nil {
				return err
			}
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
