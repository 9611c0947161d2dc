package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// TxObserver is told how long each transaction of the store took, commit
// (and a group commit's wait) included: op is "update" or "view". Metrics
// use it.
type TxObserver func(op string, d time.Duration)

// SetTxObserver sets the observer of transactions; nil stops it. Set it
// before the store is shared.
func (db *DB) SetTxObserver(f TxObserver) { db.observeTx = f }

// timeTx starts timing op; call the result when the transaction ended.
func (db *DB) timeTx(op string) func() {
	f := db.observeTx
	if f == nil {
		return func() {}
	}
	start := time.Now()
	return func() { f(op, time.Since(start)) }
}

// EngineStats are bbolt's own figures (free pages, transactions, time spent
// writing), for metrics.
func (db *DB) EngineStats() bolt.Stats { return db.bolt.Stats() }
