package sandbox

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the sandbox's file (its whole world:
// objects, clock, pending deliveries, idempotency keys) to w, from one read
// transaction while the sandbox keeps running. header, when not nil, is
// told the copy's size first.
func (s *Sandbox) Backup(w io.Writer, header func(size int64) error) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if header != nil {
			if err := header(tx.Size()); err != nil {
				return err
			}
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("sandbox: backup: %w", err)
	}
	return n, nil
}
