package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry records one admin action. Before and After are free-form
// summaries (e.g. JSON) of what changed.
type AuditEntry struct {
	ID, Actor, AccountID, Action, Before, After string
	At                                          time.Time // set by the store when zero
}

// AppendAudit stores e with a new ID; see Tx.AppendAudit.
func (t *boltTx) AppendAudit(e AuditEntry) (AuditEntry, error) {
	if e.Action == "" {
		return AuditEntry{}, errors.New("store: append audit: empty action")
	}
	e.ID = newID("aud_")
	if e.At.IsZero() {
		e.At = t.now
	}
	audit := t.tx.Bucket(bucketAudit)
	seq, err := audit.NextSequence()
	if err != nil {
		return AuditEntry{}, err
	}
	sk := seqKey(seq)
	if e.AccountID != "" {
		if err := t.tx.Bucket(bucketAuditByAcct).Put(join([]byte(e.AccountID), sk), nil); err != nil {
			return AuditEntry{}, err
		}
	}
	if err := putJSON(audit, sk, &e); err != nil {
		return AuditEntry{}, err
	}
	return e, nil
}

// Audit returns up to limit entries (all when limit <= 0), newest first; for
// one account, or for all when accountID is "".
func (t *boltTx) Audit(accountID string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	audit := t.tx.Bucket(bucketAudit)
	index, prefix := audit, []byte(nil)
	if accountID != "" {
		index, prefix = t.tx.Bucket(bucketAuditByAcct), append([]byte(accountID), 0)
	}
	err := reverseScan(index, prefix, func(k, _ []byte) (bool, error) {
		var e AuditEntry
		if err := getJSON(audit, k[len(prefix):], &e); err != nil {
			return false, fmt.Errorf("store: audit: %w", err)
		}
		out = append(out, e)
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// AuditPage returns one page of Audit and the cursor of the next; see
// ReadTx.AuditPage. The cursor is the entry's sequence number.
func (t *boltTx) AuditPage(accountID, before string, limit int) ([]AuditEntry, string, error) {
	var out []AuditEntry
	audit := t.tx.Bucket(bucketAudit)
	index, prefix := audit, []byte(nil)
	if accountID != "" {
		index, prefix = t.tx.Bucket(bucketAuditByAcct), append([]byte(accountID), 0)
	}
	next, err := pageBefore(index, prefix, before, limit, func(sk, _ []byte) error {
		var e AuditEntry
		if err := getJSON(audit, sk, &e); err != nil {
			return fmt.Errorf("store: audit: %w", err)
		}
		out = append(out, e)
		return nil
	})
	return out, next, err
}

// pageBefore visits, last first, up to limit (<= 0: DefaultPageSize) keys
// of b made of prefix and a sequence key lower than the cursor before (""
// for no bound), giving fn the sequence key and the value. It returns the
// cursor of the next page: the last visited sequence number when a key
// remains below it, else "".
func pageBefore(b *bolt.Bucket, prefix []byte, before string, limit int, fn func(sk, v []byte) error) (string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	c := b.Cursor()
	var k, v []byte
	if before == "" {
		// The first key after the prefix range, then one back.
		if len(prefix) == 0 {
			k, v = c.Last()
		} else if k, v = c.Seek(append(bytes.Clone(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	} else {
		seq, err := strconv.ParseUint(before, 10, 64)
		if err != nil {
			return "", fmt.Errorf("store: malformed page cursor %q", before)
		}
		if k, v = c.Seek(append(bytes.Clone(prefix), seqKey(seq)...)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	n := 0
	var last []byte
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if n == limit {
			return strconv.FormatUint(binary.BigEndian.Uint64(last), 10), nil
		}
		sk := k[len(prefix):]
		if err := fn(sk, v); err != nil {
			return "", err
		}
		last, n = sk, n+1
	}
	return "", nil
}
