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

// Final reports whether a stored event with status s must not be handled again.
func (s EventStatus) Final() bool {
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

// RecordEvent stores the record of a Stripe event; see Tx.RecordEvent.
func (t *boltTx) RecordEvent(ev Event) (dup bool, err error) {
	if ev.ID == "" {
		return false, errors.New("store: record event: empty event id")
	}
	if ev.Status == "" {
		ev.Status = EventStatusProcessed
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = t.now
	}
	old, err := getEvent(t.tx, ev.ID)
	switch {
	case err == nil && old.Status.Final():
		old.Duplicates++
		return true, putEvent(t.tx, old, &old)
	case err == nil:
		ev.Duplicates = old.Duplicates
		err = putEvent(t.tx, ev, &old)
	case errors.Is(err, ErrNotFound):
		err = putEvent(t.tx, ev, nil)
	}
	if err != nil {
		return false, err
	}
	if ev.AccountID != "" {
		t.markChanged(ev.AccountID) // the ops view shows the account's webhook log
	}
	return false, nil
}

// Event returns the record of event id, or ErrNotFound.
func (t *boltTx) Event(id string) (Event, error) { return getEvent(t.tx, id) }

func getEvent(tx *bolt.Tx, id string) (Event, error) {
	return getRecord[Event](tx.Bucket(bucketEvents), id)
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

// Events returns up to limit events (all when limit <= 0), newest first by
// ReceivedAt; of one account when accountID != "".
func (t *boltTx) Events(accountID string, limit int) ([]Event, error) {
	index, prefix := bucketEventsByTime, []byte(nil)
	if accountID != "" {
		index, prefix = bucketEventsByAcct, append([]byte(accountID), 0)
	}
	var out []Event
	evs := t.tx.Bucket(bucketEvents)
	err := reverseScan(t.tx.Bucket(index), prefix, func(_, id []byte) (bool, error) {
		var ev Event
		if err := getJSON(evs, id, &ev); err != nil {
			return false, fmt.Errorf("store: event index points to %s: %w", id, err)
		}
		out = append(out, ev)
		return limit <= 0 || len(out) < limit, nil
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
