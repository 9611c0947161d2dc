package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PruneResult counts what one Prune removed.
type PruneResult struct {
	Events  int // processed or ignored Stripe event records
	Audit   int // audit entries
	Notices int // notices already mailed
	Links   int // expired short links
}

func (r PruneResult) add(o PruneResult) PruneResult {
	return PruneResult{r.Events + o.Events, r.Audit + o.Audit, r.Notices + o.Notices, r.Links + o.Links}
}

// DefaultPruneBatch is how many records one pruning transaction removes at
// most: small enough that webhooks and sessions wait at most a few
// milliseconds behind it.
const DefaultPruneBatch = 500

// Prune removes history older than before, in transactions of at most
// batch records (DefaultPruneBatch when <= 0), so that it never holds the
// write lock for long: event records that are final (processed or ignored)
// and were received before it, audit entries made before it, notices mailed
// before it, and short links expired by it. Failed events, notices still in
// the outbox and every account stay. It stops early when ctx ends and
// returns what it removed so far.
//
// Caveats: a Stripe event pruned and then redelivered would be handled
// again, and a pruned notice's deduplication key is forgotten with it, so
// keep before well past Stripe's 3 days of redelivery (the portal keeps 90
// days). The account's audit trail in the ops view shrinks to the kept
// period.
func (db *DB) Prune(ctx context.Context, before time.Time, batch int) (PruneResult, error) {
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	var total PruneResult
	for _, st := range []struct {
		step  func(*bolt.Tx, time.Time, int, *[]byte) (int, bool, error)
		count *int
	}{{pruneEvents, &total.Events}, {pruneAudit, &total.Audit}, {pruneNotices, &total.Notices}} {
		var resume []byte // where the next batch starts scanning
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			var n int
			var done bool
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				var err error
				n, done, err = st.step(tx, before, batch, &resume)
				return err
			})
			if err != nil {
				return total, unavailable(err)
			}
			*st.count += n
			if done {
				break
			}
		}
	}
	n, err := db.DeleteExpiredLinks(before)
	if err != nil {
		return total, err
	}
	return total.add(PruneResult{Links: n}), nil
}

// The steps below each remove up to batch records from one transaction and
// say whether nothing older is left. resume carries the scan position from
// one batch to the next, past records that stay (failed events).

func pruneEvents(tx *bolt.Tx, before time.Time, batch int, resume *[]byte) (int, bool, error) {
	evs, byTime, byAcct := tx.Bucket(bucketEvents), tx.Bucket(bucketEventsByTime), tx.Bucket(bucketEventsByAcct)
	end := timeKey(before)
	c := byTime.Cursor()
	k, id := c.First()
	if *resume != nil {
		k, id = c.Seek(*resume)
	}
	type victim struct{ timeKey, id []byte }
	var del []victim
	var ev Event
	for ; k != nil && bytes.Compare(k[:8], end) < 0; k, id = c.Next() {
		if len(del) == batch {
			*resume = bytes.Clone(k)
			break
		}
		if err := getJSON(evs, id, &ev); err != nil {
			return 0, false, fmt.Errorf("store: prune: event index points to %s: %w", id, err)
		}
		if !ev.Status.Final() {
			continue
		}
		del = append(del, victim{bytes.Clone(k), bytes.Clone(id)})
	}
	done := k == nil || bytes.Compare(k[:8], end) >= 0
	for _, v := range del {
		var ev Event
		if err := getJSON(evs, v.id, &ev); err != nil {
			return 0, false, err
		}
		if err := byTime.Delete(v.timeKey); err != nil {
			return 0, false, err
		}
		if ev.AccountID != "" {
			if err := byAcct.Delete(join([]byte(ev.AccountID), timeKey(ev.ReceivedAt), v.id)); err != nil {
				return 0, false, err
			}
		}
		if err := evs.Delete(v.id); err != nil {
			return 0, false, err
		}
	}
	return len(del), done, nil
}

func pruneAudit(tx *bolt.Tx, before time.Time, batch int, _ *[]byte) (int, bool, error) {
	audit, byAcct := tx.Bucket(bucketAudit), tx.Bucket(bucketAuditByAcct)
	c := audit.Cursor()
	n := 0
	// Entries are in insertion order, which is time order.
	for k, v := c.First(); k != nil; k, v = c.First() {
		if n == batch {
			return n, false, nil
		}
		var e AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return n, false, fmt.Errorf("store: prune: decode audit entry: %w", err)
		}
		if !e.At.Before(before) {
			return n, true, nil
		}
		if e.AccountID != "" {
			if err := byAcct.Delete(join([]byte(e.AccountID), k)); err != nil {
				return n, false, err
			}
		}
		if err := audit.Delete(k); err != nil {
			return n, false, err
		}
		n++
	}
	return n, true, nil
}

func pruneNotices(tx *bolt.Tx, before time.Time, batch int, resume *[]byte) (int, bool, error) {
	notices := tx.Bucket(bucketNotices)
	c := notices.Cursor()
	k, v := c.First()
	if *resume != nil {
		k, v = c.Seek(*resume)
	}
	type victim struct {
		seq []byte
		n   Notice
	}
	var del []victim
	done := true
	// Notices are in creation order; none created after before was mailed
	// before it.
	for ; k != nil; k, v = c.Next() {
		var n Notice
		if err := json.Unmarshal(v, &n); err != nil {
			return 0, false, fmt.Errorf("store: prune: decode notice: %w", err)
		}
		if !n.CreatedAt.Before(before) {
			break
		}
		if len(del) == batch {
			*resume, done = bytes.Clone(k), false
			break
		}
		if n.MailedAt.IsZero() || !n.MailedAt.Before(before) {
			continue
		}
		del = append(del, victim{bytes.Clone(k), n})
	}
	for _, d := range del {
		for _, kv := range []struct {
			b   []byte
			key []byte
		}{
			{bucketNoticeUniq, join([]byte(d.n.AccountID), []byte(d.n.Kind), []byte(d.n.Key))},
			{bucketNoticeIDs, []byte(d.n.ID)},
			{bucketNoticesByAcc, join([]byte(d.n.AccountID), d.seq)},
			{bucketOutbox, d.seq},
			{bucketNotices, d.seq},
		} {
			if err := tx.Bucket(kv.b).Delete(kv.key); err != nil {
				return 0, false, err
			}
		}
	}
	return len(del), done, nil
}
