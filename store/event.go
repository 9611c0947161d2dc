package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EventStatus is the outcome of handling a webhook event.
type EventStatus string

// Event outcomes. Processed and ignored are final: a redelivery of such an
// event is a duplicate. Failed is not: the redelivery is handled again.
const (
	EventStatusProcessed EventStatus = "processed"
	EventStatusIgnored   EventStatus = "ignored"
	EventStatusFailed    EventStatus = "failed"
	EventStatusDuplicate EventStatus = "duplicate"
)

// final reports whether a stored event with status s must not be handled again.
func (s EventStatus) final() bool {
	return s == EventStatusProcessed || s == EventStatusIgnored
}

// Event is one received Stripe webhook event: the processed-event log that
// makes handling idempotent, and the ops view's webhook log.
type Event struct {
	ID         string // Stripe evt_ id
	Type       string
	Created    time.Time // Stripe's created
	ReceivedAt time.Time // set by the store when zero
	AccountID  string    // "" when unknown
	Status     EventStatus
	Error      string
	Latency    time.Duration // handler latency
	Duplicates int           // how many redeliveries were seen after processing
}

// EventProcessed reports whether event id has a final record (processed or
// ignored), i.e. whether a redelivery should be a no-op.
func (db *DB) EventProcessed(id string) (bool, error) {
	var done bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		ev, err := getEvent(tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		done = err == nil && ev.Status.final()
		return err
	})
	return done, err
}

// ApplyEvent atomically records ev and, when accountID != "" and fn != nil,
// updates that account exactly like UpdateAccount (fn's error aborts both, and
// ErrNotFound is returned when the account does not exist). ev.Status defaults
// to processed; ev.AccountID defaults to accountID.
//
// If ev.ID already has a final record (processed or ignored), nothing but the
// record's Duplicates counter changes and ApplyEvent returns dup=true with a
// zero Account. acct is the updated account when fn ran, else zero.
//
// Concurrent callers are group-committed (bbolt's Batch), so one fsync covers
// many events; a lone caller waits up to Options.MaxBatchDelay. Because of
// Batch, fn may be called more than once (on a copy each time): it must only
// change the Account it is given. Subscribers of the account are notified after
// the commit, and only when the event was not a duplicate.
func (db *DB) ApplyEvent(ev Event, accountID string, fn func(*Account) error) (acct Account, dup bool, err error) {
	defer db.timeTx("apply_event")()
	if ev.ID == "" {
		return Account{}, false, errors.New("store: apply event: empty event id")
	}
	if ev.Status == "" {
		ev.Status = EventStatusProcessed
	}
	if ev.AccountID == "" {
		ev.AccountID = accountID
	}
	now := db.now()
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		// Batch may rerun this function: reset every result first.
		acct, dup = Account{}, false
		rec := ev
		var prev *Event
		old, err := getEvent(tx, ev.ID)
		switch {
		case err == nil && old.Status.final():
			dup = true
			old.Duplicates++
			return putEvent(tx, old, &old)
		case err == nil:
			rec.Duplicates = old.Duplicates
			prev = &old
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if accountID != "" && fn != nil {
			if acct, err = updateAccount(tx, accountID, now, fn); err != nil {
				return err
			}
		}
		return putEvent(tx, rec, prev)
	})
	if err != nil {
		return Account{}, false, err
	}
	if !dup && ev.AccountID != "" {
		db.feed.notify(ev.AccountID)
	}
	return acct, dup, nil
}

// RecordEvent logs ev without touching any account, for events that were
// ignored or failed. It overwrites a non-final record of the same id; when a
// final record exists it only counts a duplicate on it. ev.Status defaults to
// ignored. Subscribers of ev.AccountID are notified (the ops view shows the log).
func (db *DB) RecordEvent(ev Event) error {
	defer db.timeTx("record_event")()
	if ev.ID == "" {
		return errors.New("store: record event: empty event id")
	}
	if ev.Status == "" {
		ev.Status = EventStatusIgnored
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = db.now()
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		old, err := getEvent(tx, ev.ID)
		switch {
		case err == nil && old.Status.final():
			old.Duplicates++
			return putEvent(tx, old, &old)
		case err == nil:
			ev.Duplicates = old.Duplicates
			return putEvent(tx, ev, &old)
		case errors.Is(err, ErrNotFound):
			return putEvent(tx, ev, nil)
		default:
			return err
		}
	})
	if err == nil && ev.AccountID != "" {
		db.feed.notify(ev.AccountID)
	}
	return err
}

func getEvent(tx *bolt.Tx, id string) (Event, error) {
	var ev Event
	if id == "" {
		return ev, ErrNotFound
	}
	err := getJSON(tx.Bucket(bucketEvents), []byte(id), &ev)
	return ev, err
}

// putEvent stores ev and its time indexes, replacing old's index entries when
// old is the record being overwritten.
func putEvent(tx *bolt.Tx, ev Event, old *Event) error {
	byTime, byAcct := tx.Bucket(bucketEventsByTime), tx.Bucket(bucketEventsByAcct)
	id := []byte(ev.ID)
	if old != nil {
		if err := byTime.Delete(join(timeKey(old.ReceivedAt), id)); err != nil {
			return err
		}
		if old.AccountID != "" {
			if err := byAcct.Delete(join([]byte(old.AccountID), timeKey(old.ReceivedAt), id)); err != nil {
				return err
			}
		}
	}
	if err := byTime.Put(join(timeKey(ev.ReceivedAt), id), id); err != nil {
		return err
	}
	if ev.AccountID != "" {
		if err := byAcct.Put(join([]byte(ev.AccountID), timeKey(ev.ReceivedAt), id), id); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketEvents), id, &ev)
}

// Events returns up to limit events (all when limit <= 0), newest first by ReceivedAt.
func (db *DB) Events(limit int) ([]Event, error) {
	return db.eventsNewestFirst(bucketEventsByTime, nil, limit)
}

// EventsForAccount returns up to limit events recorded for accountID (all when
// limit <= 0), newest first by ReceivedAt.
func (db *DB) EventsForAccount(accountID string, limit int) ([]Event, error) {
	if accountID == "" {
		return nil, nil
	}
	return db.eventsNewestFirst(bucketEventsByAcct, append([]byte(accountID), 0), limit)
}

func (db *DB) eventsNewestFirst(index, prefix []byte, limit int) ([]Event, error) {
	var out []Event
	err := db.bolt.View(func(tx *bolt.Tx) error {
		evs := tx.Bucket(bucketEvents)
		err := reverseScan(tx.Bucket(index), prefix, func(_, id []byte) (bool, error) {
			var ev Event
			if err := getJSON(evs, id, &ev); err != nil {
				return false, fmt.Errorf("store: event index points to %s: %w", id, err)
			}
			out = append(out, ev)
			return limit <= 0 || len(out) < limit, nil
		})
		return err
	})
	return out, err
}

// reverseScan visits the keys of b that start with prefix, last first, until
// fn returns false or an error.
func reverseScan(b *bolt.Bucket, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	var k, v []byte
	if len(prefix) == 0 {
		k, v = c.Last()
	} else {
		// Seek to the first key after the prefix range, then step back.
		end := append(bytes.Clone(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)
		if k, v = c.Seek(end); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
