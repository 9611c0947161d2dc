package store

import (
	"encoding/binary"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrLinkTaken is returned by PutLink when the token is already stored.
var ErrLinkTaken = errors.New("store: link token taken")

// Links are short tokens that stand for long URLs until they expire
// (billing's /l/ redirects). They live in the store so that a link shown
// to a customer, or scanned as a QR code, survives a restart of the portal.
//
// Layout: links: token → expiry (8 bytes, Unix nanoseconds, big-endian) +
// target. Expiry is on the caller's clock (billing's), not the store's.

// PutLink stores target under token until expires. It fails with
// ErrLinkTaken when token is already stored, expired or not, so a caller
// drawing random tokens retries with another.
func (db *DB) PutLink(token, target string, expires time.Time) error {
	if token == "" || target == "" {
		return errors.New("store: put link: empty token or target")
	}
	v := make([]byte, 8, 8+len(target))
	binary.BigEndian.PutUint64(v, uint64(expires.UnixNano()))
	v = append(v, target...)
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLinks)
		if b.Get([]byte(token)) != nil {
			return ErrLinkTaken
		}
		return b.Put([]byte(token), v)
	})
}

// Link returns the target of token while now is before its expiry. A token
// that is unknown or expired is ErrNotFound.
func (db *DB) Link(token string, now time.Time) (string, error) {
	var target string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLinks).Get([]byte(token))
		if len(v) < 8 || !now.Before(linkExpiry(v)) {
			return ErrNotFound
		}
		target = string(v[8:])
		return nil
	})
	return target, err
}

// DeleteExpiredLinks removes the links that have expired at now and
// returns how many it removed. It scans every link: call it now and then
// (billing does at most once a minute), not per request.
func (db *DB) DeleteExpiredLinks(now time.Time) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLinks)
		var expired [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if len(v) < 8 || !now.Before(linkExpiry(v)) {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}

func linkExpiry(v []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))
}
