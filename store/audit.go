package store

import (
	"errors"
	"fmt"
	"time"
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
