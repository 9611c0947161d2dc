package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Ping reads the schema version in a read transaction, for readiness
// checks. It returns ctx's error if the read has not finished when ctx
// ends; the read itself cannot be cancelled and finishes in the background.
// A closed store fails at once.
func (db *DB) Ping(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		done <- db.bolt.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketMeta)
			if b == nil || b.Get(keySchema) == nil {
				return fmt.Errorf("store: %s has no schema version", db.path)
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
