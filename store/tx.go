package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
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
// Concurrent callers are group-committed, so one fsync covers many changes:
// one goroutine (runCommits) commits back to back, each commit taking every
// caller that queued while the one before it was writing. A lone caller
// commits at once. (bbolt's Batch, used before, closed a group after
// MaxBatchDelay even while an fsync was still running, so the callers that
// arrived during one commit queued up as several small groups, each paying
// its own fsync.) With Options.NoSync there is no fsync to share and each
// caller commits at once in its own goroutine. fn may run more than once:
// when one caller's fn fails, the group is rolled back and committed again
// without it.
func (db *DB) Update(ctx context.Context, fn func(Tx) error) error {
	defer db.timeTx("update")()
	if err := ctx.Err(); err != nil {
		return err
	}
	var changes []Change
	var fnErr error
	run := func(btx *bolt.Tx) error {
		changes, fnErr = nil, nil
		t := &boltTx{tx: btx, now: db.now()}
		if err := fn(t); err != nil {
			fnErr = err
			return err
		}
		var err error
		changes, err = t.commitChanges()
		return err
	}
	var err error
	if db.commits == nil {
		err = db.bolt.Update(run)
	} else {
		err = db.commits.do(run)
	}
	if err != nil {
		if fnErr != nil && err == fnErr {
			return err
		}
		return unavailable(err)
	}
	db.hub.Publish(changes...)
	return nil
}

// maxGroup bounds how many callers one group commit takes (bbolt's
// DefaultMaxBatchSize).
const maxGroup = 1000

// committer is the group commit of a store with fsync on: Update hands its
// function to the goroutine running runCommits and waits for the commit.
type committer struct {
	calls    chan commitCall
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type commitCall struct {
	fn  func(*bolt.Tx) error
	err chan error // buffered: the committer never waits for the caller
}

// panicked carries a panic in one caller's fn back to that caller.
type panicked struct{ reason any }

func (p panicked) Error() string { return fmt.Sprintf("store: panic in transaction: %v", p.reason) }

func newCommitter(bdb *bolt.DB) *committer {
	c := &committer{calls: make(chan commitCall), stop: make(chan struct{}), done: make(chan struct{})}
	go c.runCommits(bdb)
	return c
}

// do queues fn for the next group commit and returns its outcome: fn's own
// error, or the commit's. After close it fails as a closed bbolt file does.
func (c *committer) do(fn func(*bolt.Tx) error) error {
	call := commitCall{fn: fn, err: make(chan error, 1)}
	select {
	case c.calls <- call:
	case <-c.stop:
		return bolterrors.ErrDatabaseNotOpen
	}
	err := <-call.err
	if p, ok := err.(panicked); ok {
		panic(p.reason)
	}
	return err
}

// close stops the committer once the group it is committing is done.
func (c *committer) close() {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

// runCommits takes a caller, every other caller already waiting (at most
// maxGroup), and commits them in one transaction; then the next group.
func (c *committer) runCommits(bdb *bolt.DB) {
	defer close(c.done)
	group := make([]commitCall, 0, 64)
	for {
		select {
		case call := <-c.calls:
			group = append(group[:0], call)
		case <-c.stop:
			return
		}
	gather:
		for len(group) < maxGroup {
			select {
			case call := <-c.calls:
				group = append(group, call)
			default:
				break gather
			}
		}
		commitGroup(bdb, group)
	}
}

// commitGroup runs the group's functions in one transaction and answers each
// caller. When one fails, the transaction is rolled back, that caller gets
// its error (it saw the writes of the callers before it, as if they had
// committed first) and the others are committed again without it.
func commitGroup(bdb *bolt.DB, group []commitCall) {
	for len(group) > 0 {
		failed := -1
		err := bdb.Update(func(tx *bolt.Tx) error {
			for i, call := range group {
				if err := safeCall(call.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, call := range group {
				call.err <- err
			}
			return
		}
		group[failed].err <- err
		group = slices.Concat(group[:failed], group[failed+1:]) // a copy: the caller's slice stays as it was
	}
}

func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicked{p}
		}
	}()
	return fn(tx)
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
