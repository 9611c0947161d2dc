package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// NoticeKind names what a notice is about. Each kind is a constant of the
// package that raises it (billing.Notice*, accounts.KindKeyAdded); the
// store keeps it as text.
type NoticeKind string

// Notice is a message for an account, shown as a banner and mailed where SMTP
// is configured. There is at most one per (AccountID, Kind, Key).
type Notice struct {
	ID        string // assigned by AddNotice
	AccountID string
	Kind      NoticeKind // billing's Notice* constants, accounts.KindKeyAdded
	Key       string     // deduplication key, e.g. subscription id + trial end
	Message   string
	CreatedAt time.Time // set by the store when zero
	MailedAt  time.Time // zero: still in the outbox
	MailTries int
	MailError string
	// MailNextAt is when the mailer may try again after a failed try (its
	// backoff, kept in the store so a restart honours it); zero: due now.
	MailNextAt time.Time
	// DismissedAt is when the customer dismissed the notice's banner; it
	// stays hidden in every session of the account. Mail is unaffected.
	DismissedAt time.Time
}

// MailStatus is where a notice's mail is, as the mailer left it.
type MailStatus string

const (
	MailQueued   MailStatus = "queued"   // not tried yet (or queued again)
	MailRetrying MailStatus = "retrying" // tried and failed; tried again at MailNextAt
	MailFailed   MailStatus = "failed"   // the mailer gave up: a failed try with no next one
	MailSent     MailStatus = "sent"     // mailed at MailedAt
)

// RecordMailAttempt is what a mail attempt at at does to n, for every
// engine's MarkMailed: a failure counts a try and keeps the error and the
// next try (zero: given up); a success marks n mailed.
func (n *Notice) RecordMailAttempt(at time.Time, mailErr error, retryAt time.Time) {
	if mailErr != nil {
		n.MailTries++
		n.MailError = mailErr.Error()
		n.MailNextAt = retryAt
		return
	}
	n.MailedAt = at
	n.MailError = ""
	n.MailNextAt = time.Time{}
}

// MailStatus says where n's mail is. The mailer records a failed try with
// the time of the next one (MarkMailed's retryAt), and with none once it
// gives up; a requeue clears the tries.
func (n Notice) MailStatus() MailStatus {
	switch {
	case !n.MailedAt.IsZero():
		return MailSent
	case n.MailTries == 0:
		return MailQueued
	case n.MailNextAt.IsZero():
		return MailFailed
	}
	return MailRetrying
}

// EnsureNotice is AddNotice without its results; see Tx.EnsureNotice.
func (t *boltTx) EnsureNotice(n Notice) error {
	if _, _, err := t.AddNotice(n); err != nil {
		return err
	}
	t.markChanged(n.AccountID)
	return nil
}

// AddNotice stores n unless its (AccountID, Kind, Key) exists; see Tx.AddNotice.
func (t *boltTx) AddNotice(n Notice) (Notice, bool, error) {
	if n.AccountID == "" || n.Kind == "" {
		return Notice{}, false, errors.New("store: add notice: account id and kind are required")
	}
	n.ID = newID("ntc_")
	if n.CreatedAt.IsZero() {
		n.CreatedAt = t.now
	}
	n.MailedAt, n.MailTries, n.MailError, n.MailNextAt = time.Time{}, 0, "", time.Time{}
	uniq := join([]byte(n.AccountID), []byte(n.Kind), []byte(n.Key))
	tx := t.tx
	if _, err := getAccount(tx, n.AccountID); err != nil {
		return Notice{}, false, err
	}
	if id := tx.Bucket(bucketNoticeUniq).Get(uniq); id != nil {
		old, err := getNotice(tx, string(id))
		return old, false, err
	}
	notices := tx.Bucket(bucketNotices)
	seq, err := notices.NextSequence()
	if err != nil {
		return Notice{}, false, err
	}
	sk := seqKey(seq)
	for _, kv := range [][3][]byte{
		{bucketNoticeUniq, uniq, []byte(n.ID)},
		{bucketNoticeIDs, []byte(n.ID), sk},
		{bucketNoticesByAcc, join([]byte(n.AccountID), sk), nil},
		{bucketOutbox, sk, nil},
	} {
		if err := tx.Bucket(kv[0]).Put(kv[1], kv[2]); err != nil {
			return Notice{}, false, err
		}
	}
	if err := putJSON(notices, sk, &n); err != nil {
		return Notice{}, false, err
	}
	t.markChanged(n.AccountID)
	return n, true, nil
}

func getNotice(tx *bolt.Tx, id string) (Notice, error) {
	var n Notice
	sk := tx.Bucket(bucketNoticeIDs).Get([]byte(id))
	if sk == nil {
		return n, ErrNotFound
	}
	err := getJSON(tx.Bucket(bucketNotices), sk, &n)
	return n, err
}

// Notice returns the notice with id, or ErrNotFound.
func (t *boltTx) Notice(id string) (Notice, error) { return getNotice(t.tx, id) }

// Notices returns the account's notices, newest first.
func (t *boltTx) Notices(accountID string) ([]Notice, error) {
	if accountID == "" {
		return nil, nil
	}
	var out []Notice
	notices := t.tx.Bucket(bucketNotices)
	prefix := append([]byte(accountID), 0)
	err := reverseScan(t.tx.Bucket(bucketNoticesByAcc), prefix, func(k, _ []byte) (bool, error) {
		var n Notice
		if err := getJSON(notices, k[len(prefix):], &n); err != nil {
			return false, fmt.Errorf("store: notice index: %w", err)
		}
		out = append(out, n)
		return true, nil
	})
	return out, err
}

// Outbox returns the notices not yet mailed, oldest first, including those
// whose earlier attempts failed (see MailTries and MailNextAt).
func (t *boltTx) Outbox() ([]Notice, error) {
	var out []Notice
	notices := t.tx.Bucket(bucketNotices)
	err := t.tx.Bucket(bucketOutbox).ForEach(func(sk, _ []byte) error {
		var n Notice
		if err := getJSON(notices, sk, &n); err != nil {
			return fmt.Errorf("store: outbox: %w", err)
		}
		out = append(out, n)
		return nil
	})
	return out, err
}

// MailPage returns a page of every notice's mail, newest first; see
// ReadTx.MailPage. The cursor is the notice's sequence number.
func (t *boltTx) MailPage(before string, limit int) ([]Notice, string, error) {
	var out []Notice
	notices := t.tx.Bucket(bucketNotices)
	next, err := pageBefore(notices, nil, before, limit, func(sk, v []byte) error {
		var n Notice
		if err := json.Unmarshal(v, &n); err != nil {
			return fmt.Errorf("store: mail page: %w", err)
		}
		out = append(out, n)
		return nil
	})
	return out, next, err
}

// MarkMailed records a mail attempt for notice id; see Tx.MarkMailed.
func (t *boltTx) MarkMailed(id string, at time.Time, mailErr error, retryAt time.Time) error {
	tx := t.tx
	sk := tx.Bucket(bucketNoticeIDs).Get([]byte(id))
	if sk == nil {
		return ErrNotFound
	}
	sk = bytes.Clone(sk) // Get memory may move once the transaction writes
	var n Notice
	if err := getJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
		return err
	}
	n.RecordMailAttempt(at, mailErr, retryAt)
	if mailErr == nil {
		if err := tx.Bucket(bucketOutbox).Delete(sk); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketNotices), sk, &n)
}

// Requeue puts the notice back in the outbox; see Tx.Requeue.
func (t *boltTx) Requeue(id string) (Notice, error) {
	tx := t.tx
	sk := tx.Bucket(bucketNoticeIDs).Get([]byte(id))
	if sk == nil {
		return Notice{}, ErrNotFound
	}
	sk = bytes.Clone(sk)
	var n Notice
	if err := getJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
		return Notice{}, err
	}
	n.MailedAt, n.MailTries, n.MailError, n.MailNextAt = time.Time{}, 0, "", time.Time{}
	if err := tx.Bucket(bucketOutbox).Put(sk, nil); err != nil {
		return Notice{}, err
	}
	if err := putJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
		return Notice{}, err
	}
	t.markChanged(n.AccountID)
	return n, nil
}

// DismissNotice hides the banner of notice id; see Tx.DismissNotice.
func (t *boltTx) DismissNotice(accountID, id string, at time.Time) error {
	tx := t.tx
	sk := tx.Bucket(bucketNoticeIDs).Get([]byte(id))
	if sk == nil {
		return ErrNotFound
	}
	sk = bytes.Clone(sk)
	var n Notice
	if err := getJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
		return err
	}
	if n.AccountID != accountID {
		return ErrNotFound
	}
	if !n.DismissedAt.IsZero() {
		return nil
	}
	n.DismissedAt = at
	if err := putJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
		return err
	}
	t.markChanged(accountID)
	return nil
}
