package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Notice is a message for an account, shown as a banner and mailed where SMTP
// is configured. There is at most one per (AccountID, Kind, Key).
type Notice struct {
	ID        string // assigned by AddNotice
	AccountID string
	Kind      string // "trial_will_end", "payment_failed", "trial_ended", "card_added", "plan_changed"
	Key       string // deduplication key, e.g. subscription id + trial end
	Message   string
	CreatedAt time.Time // set by the store when zero
	MailedAt  time.Time // zero: still in the outbox
	MailTries int
	MailError string
	// DismissedAt is when the customer dismissed the notice's banner; it
	// stays hidden in every session of the account. Mail is unaffected.
	DismissedAt time.Time
}

// AddNotice stores n unless a notice with the same (AccountID, Kind, Key)
// exists, in which case it returns that notice and false. The account must
// exist (else ErrNotFound). A new notice enters the outbox and notifies the
// account's subscribers.
func (db *DB) AddNotice(n Notice) (Notice, bool, error) {
	if n.AccountID == "" || n.Kind == "" {
		return Notice{}, false, errors.New("store: add notice: account id and kind are required")
	}
	n.ID = newID("ntc_")
	if n.CreatedAt.IsZero() {
		n.CreatedAt = db.now()
	}
	n.MailedAt, n.MailTries, n.MailError = time.Time{}, 0, ""
	uniq := join([]byte(n.AccountID), []byte(n.Kind), []byte(n.Key))
	var added bool
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := getAccount(tx, n.AccountID); err != nil {
			return err
		}
		if id := tx.Bucket(bucketNoticeUniq).Get(uniq); id != nil {
			var err error
			n, err = getNotice(tx, string(id))
			return err
		}
		notices := tx.Bucket(bucketNotices)
		seq, err := notices.NextSequence()
		if err != nil {
			return err
		}
		sk := seqKey(seq)
		for _, kv := range [][3][]byte{
			{bucketNoticeUniq, uniq, []byte(n.ID)},
			{bucketNoticeIDs, []byte(n.ID), sk},
			{bucketNoticesByAcc, join([]byte(n.AccountID), sk), nil},
			{bucketOutbox, sk, nil},
		} {
			if err := tx.Bucket(kv[0]).Put(kv[1], kv[2]); err != nil {
				return err
			}
		}
		added = true
		return putJSON(notices, sk, &n)
	})
	if err != nil {
		return Notice{}, false, err
	}
	if added {
		db.feed.notify(n.AccountID)
	}
	return n, added, nil
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

// Notices returns the account's notices, newest first.
func (db *DB) Notices(accountID string) ([]Notice, error) {
	var out []Notice
	if accountID == "" {
		return nil, nil
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		notices := tx.Bucket(bucketNotices)
		prefix := append([]byte(accountID), 0)
		return reverseScan(tx.Bucket(bucketNoticesByAcc), prefix, func(k, _ []byte) (bool, error) {
			var n Notice
			if err := getJSON(notices, k[len(prefix):], &n); err != nil {
				return false, fmt.Errorf("store: notice index: %w", err)
			}
			out = append(out, n)
			return true, nil
		})
	})
	return out, err
}

// Outbox returns the notices not yet mailed, oldest first, including those
// whose earlier attempts failed (see MailTries).
func (db *DB) Outbox() ([]Notice, error) {
	var out []Notice
	err := db.bolt.View(func(tx *bolt.Tx) error {
		notices := tx.Bucket(bucketNotices)
		return tx.Bucket(bucketOutbox).ForEach(func(sk, _ []byte) error {
			var n Notice
			if err := getJSON(notices, sk, &n); err != nil {
				return fmt.Errorf("store: outbox: %w", err)
			}
			out = append(out, n)
			return nil
		})
	})
	return out, err
}

// MarkMailed records a mail attempt for notice id. With err == nil the notice
// gets MailedAt = at, its MailError is cleared and it leaves the outbox; with
// err != nil MailTries is incremented, MailError set and it stays in the
// outbox. ErrNotFound when the notice does not exist.
func (db *DB) MarkMailed(id string, at time.Time, mailErr error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		sk := tx.Bucket(bucketNoticeIDs).Get([]byte(id))
		if sk == nil {
			return ErrNotFound
		}
		sk = bytes.Clone(sk) // Get memory may move once the transaction writes
		var n Notice
		if err := getJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
			return err
		}
		if mailErr != nil {
			n.MailTries++
			n.MailError = mailErr.Error()
		} else {
			n.MailedAt = at
			n.MailError = ""
			if err := tx.Bucket(bucketOutbox).Delete(sk); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketNotices), sk, &n)
	})
}

// Requeue puts the notice back in the outbox to be mailed again (an admin's
// "send again"): MailedAt, MailTries and MailError are cleared. The notice
// keeps its id, so the customer still sees it once. It returns ErrNotFound
// for an unknown id. Like AddNotice it notifies the account's feed, which is
// what wakes the mailer.
func (db *DB) Requeue(id string) (Notice, error) {
	var n Notice
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		sk := tx.Bucket(bucketNoticeIDs).Get([]byte(id))
		if sk == nil {
			return ErrNotFound
		}
		sk = bytes.Clone(sk)
		if err := getJSON(tx.Bucket(bucketNotices), sk, &n); err != nil {
			return err
		}
		n.MailedAt, n.MailTries, n.MailError = time.Time{}, 0, ""
		if err := tx.Bucket(bucketOutbox).Put(sk, nil); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketNotices), sk, &n)
	})
	if err != nil {
		return Notice{}, err
	}
	db.feed.notify(n.AccountID)
	return n, nil
}

// DismissNotice hides notice id's banner for good (DismissedAt = at) and
// notifies the account's feed, so every open session of the account drops
// it. The notice must belong to accountID (a session dismisses only its own
// account's), else ErrNotFound. Dismissing twice keeps the first time.
func (db *DB) DismissNotice(accountID, id string, at time.Time) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
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
		return putJSON(tx.Bucket(bucketNotices), sk, &n)
	})
	if err != nil {
		return err
	}
	db.feed.notify(accountID)
	return nil
}
