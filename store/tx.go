package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltTx is the bbolt engine's Tx (and ReadTx, in a read-only bolt.Tx).
type boltTx struct {
	tx  *bolt.Tx
	now time.Time
	// changed lists, in first-change order, the accounts this transaction
	// changed; commitChanges gives each one feed entry.
	changed []string
}

var _ Tx = (*boltTx)(nil)

func (t *boltTx) markChanged(accountID string) {
	for _, id := range t.changed {
		if id == accountID {
			return
		}
	}
	t.changed = append(t.changed, accountID)
}

// changeRecord is a feed entry as stored in bucketChanges.
type changeRecord struct {
	AccountID string
	At        time.Time
}

// commitChanges writes one feed entry per changed account, in this
// transaction, and returns them for publishing after the commit.
func (t *boltTx) commitChanges() ([]Change, error) {
	if len(t.changed) == 0 {
		return nil, nil
	}
	b, last := t.tx.Bucket(bucketChanges), t.tx.Bucket(bucketChangeLast)
	out := make([]Change, 0, len(t.changed))
	for _, id := range t.changed {
		seq, err := b.NextSequence()
		if err != nil {
			return nil, err
		}
		if err := putJSON(b, seqKey(seq), changeRecord{AccountID: id, At: t.now}); err != nil {
			return nil, err
		}
		if err := last.Put([]byte(id), seqKey(seq)); err != nil {
			return nil, err
		}
		out = append(out, Change{Seq: seq, AccountID: id})
	}
	return out, nil
}

// Update runs fn in one read-write transaction; see Engine.Update.
//
// Concurrent callers are group-committed (bbolt's Batch), so one fsync covers
// many changes; a lone caller waits up to Options.MaxBatchDelay for company.
// (Committing a caller that is alone at once measured slower under webhook
// load: the next caller arrives within the delay and pays its own fsync.)
// With Options.NoSync there is no fsync to share and each caller commits at
// once. Because of Batch, fn may run more than once.
func (db *DB) Update(ctx context.Context, fn func(Tx) error) error {
	defer db.timeTx("update")()
	if err := ctx.Err(); err != nil {
		return err
	}
	commit := db.bolt.Batch
	if db.noSync {
		commit = db.bolt.Update
	}
	var changes []Change
	var fnErr error
	err := commit(func(btx *bolt.Tx) error {
		changes, fnErr = nil, nil
		t := &boltTx{tx: btx, now: db.now()}
		if err := fn(t); err != nil {
			fnErr = err
			return err
		}
		var err error
		changes, err = t.commitChanges()
		return err
	})
	if err != nil {
		if fnErr != nil && err == fnErr {
			return err
		}
		return unavailable(err)
	}
	db.hub.Publish(changes...)
	return nil
}

// View runs fn in a read-only transaction; see Engine.View.
func (db *DB) View(ctx context.Context, fn func(ReadTx) error) error {
	defer db.timeTx("view")()
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := db.bolt.View(func(btx *bolt.Tx) error {
		fnErr = fn(&boltTx{tx: btx, now: db.now()})
		return fnErr
	})
	if err != nil && err != fnErr {
		return unavailable(err)
	}
	return err
}

// unavailable wraps an engine failure in ErrUnavailable.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// LastSeq returns the newest change's Seq, of accountID or of all accounts ("").
func (db *DB) LastSeq(ctx context.Context, accountID string) (uint64, error) {
	var seq uint64
	err := db.View(ctx, func(rt ReadTx) error {
		tx := rt.(*boltTx).tx
		if accountID == "" {
			seq = tx.Bucket(bucketChanges).Sequence()
			return nil
		}
		if v := tx.Bucket(bucketChangeLast).Get([]byte(accountID)); len(v) == 8 {
			seq = seqFromKey(v)
		}
		return nil
	})
	return seq, err
}

// Changes returns changes with Seq > after, ascending, at most limit (default
// 1000). bbolt commits one writer at a time, so sequence numbers become
// visible in order.
func (db *DB) Changes(ctx context.Context, after uint64, limit int) ([]Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	var out []Change
	err := db.View(ctx, func(rt ReadTx) error {
		c := rt.(*boltTx).tx.Bucket(bucketChanges).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var r changeRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode change %d: %w", seqFromKey(k), err)
			}
			out = append(out, Change{Seq: seqFromKey(k), AccountID: r.AccountID})
		}
		return nil
	})
	return out, err
}

// SubscribeFrom delivers the changes after fromSeq; see Engine.SubscribeFrom.
func (db *DB) SubscribeFrom(accountID string, fromSeq uint64) *Subscription {
	return db.hub.Subscribe(accountID, fromSeq)
}
