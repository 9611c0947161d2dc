package sandbox

import (
	"fmt"
	"io"

	"github.com/portal/portal/internal/boltcopy"
)

// Backup writes a consistent copy of the sandbox's file (its whole world:
// objects, clock, pending deliveries, idempotency keys) to w, from one read
// transaction while the sandbox keeps running. header, when not nil, is
// told the copy's size first.
func (s *Sandbox) Backup(w io.Writer, header func(size int64) error) (int64, error) {
	n, err := boltcopy.WriteTo(s.db, w, header)
	if err != nil {
		return n, fmt.Errorf("sandbox: backup: %w", err)
	}
	return n, nil
}
