package postgres

import (
	"context"
	"time"

	"github.com/portal/portal/store"
)

// Ping checks that the database answers a read of the schema, within ctx.
func (db *DB) Ping(ctx context.Context) error {
	if db.closed.Load() {
		return unavailable(errClosed)
	}
	var v int
	if err := db.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return unavailable(err)
	}
	return nil
}

// SetTxObserver sets the observer of transactions ("update", "view"), as
// the bbolt store's; nil stops it. Set it before the store is shared.
func (db *DB) SetTxObserver(f store.TxObserver) { db.observeTx = f }

func (db *DB) timeTx(op string) func() {
	f := db.observeTx
	if f == nil {
		return func() {}
	}
	start := time.Now()
	return func() { f(op, time.Since(start)) }
}
