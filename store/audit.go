package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry records one admin action. Before and After are free-form
// summaries (e.g. JSON) of what changed.
type AuditEntry struct {
	ID, Actor, AccountID, Action, Before, After string
	At                                          time.Time // set by the store when zero
}

// AppendAudit stores e with a new ID and returns it. Entries keep insertion
// order, whatever their At.
func (db *DB) AppendAudit(e AuditEntry) (AuditEntry, error) {
	defer db.timeTx("append_audit")()
	if e.Action == "" {
		return AuditEntry{}, errors.New("store: append audit: empty action")
	}
	e.ID = newID("aud_")
	if e.At.IsZero() {
		e.At = db.now()
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		seq, err := audit.NextSequence()
		if err != nil {
			return err
		}
		sk := seqKey(seq)
		if e.AccountID != "" {
			if err := tx.Bucket(bucketAuditByAcct).Put(join([]byte(e.AccountID), sk), nil); err != nil {
				return err
			}
		}
		return putJSON(audit, sk, &e)
	})
	if err != nil {
		return AuditEntry{}, err
	}
	return e, nil
}

// Audit returns up to limit entries (all when limit <= 0), newest first; for
// one account, or for all when accountID is "".
func (db *DB) Audit(accountID string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := db.bolt.View(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		index, prefix := audit, []byte(nil)
		if accountID != "" {
			index, prefix = tx.Bucket(bucketAuditByAcct), append([]byte(accountID), 0)
		}
		return reverseScan(index, prefix, func(k, _ []byte) (bool, error) {
			var e AuditEntry
			if err := getJSON(audit, k[len(prefix):], &e); err != nil {
				return false, fmt.Errorf("store: audit: %w", err)
			}
			out = append(out, e)
			return limit <= 0 || len(out) < limit, nil
		})
	})
	return out, err
}
