package store

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrLastKey is returned by RemoveKey for an account's only key: an account
// without a key could never be reached again.
var ErrLastKey = errors.New("store: the account's last key cannot be removed")

// MaxLabelLen bounds a key's label (runes); longer ones are cut.
const MaxLabelLen = 64

// CleanLabel is label as the store keeps it: control characters dropped,
// spaces trimmed, at most 64 runes.
func CleanLabel(label string) string {
	label = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, label)
	label = strings.TrimSpace(label)
	if r := []rune(label); len(r) > MaxLabelLen {
		label = strings.TrimSpace(string(r[:MaxLabelLen]))
	}
	return label
}

// RemoveKey removes the key from the account; see Tx.RemoveKey.
func (t *boltTx) RemoveKey(accountID, fingerprint string) (Account, error) {
	a, i, err := t.accountKey(accountID, fingerprint)
	if err != nil {
		return Account{}, err
	}
	if len(a.Keys) == 1 {
		return Account{}, ErrLastKey
	}
	if err := t.tx.Bucket(bucketIdxKey).Delete([]byte(fingerprint)); err != nil {
		return Account{}, err
	}
	a.Keys = slices.Delete(a.Keys, i, i+1)
	return t.putKeys(a, true)
}

// SetKeyLabel names one of the account's keys; see Tx.SetKeyLabel.
func (t *boltTx) SetKeyLabel(accountID, fingerprint, label string) (Account, error) {
	a, i, err := t.accountKey(accountID, fingerprint)
	if err != nil {
		return Account{}, err
	}
	a.Keys[i].Label = CleanLabel(label)
	return t.putKeys(a, true)
}

// accountKey returns the account and the index of its key fingerprint;
// ErrNotFound when either is missing.
func (t *boltTx) accountKey(accountID, fingerprint string) (Account, int, error) {
	a, err := getAccount(t.tx, accountID)
	if err != nil {
		return Account{}, 0, err
	}
	i := slices.IndexFunc(a.Keys, func(k Key) bool { return k.Fingerprint == fingerprint })
	if i < 0 {
		return Account{}, 0, ErrNotFound
	}
	return a, i, nil
}

// KeyUsed records that the key opened a session at at; see Tx.KeyUsed.
func (t *boltTx) KeyUsed(fingerprint string, at time.Time) error {
	id := t.tx.Bucket(bucketIdxKey).Get([]byte(fingerprint))
	if id == nil {
		return ErrNotFound
	}
	a, err := getAccount(t.tx, string(id))
	if err != nil {
		return err
	}
	i := slices.IndexFunc(a.Keys, func(k Key) bool { return k.Fingerprint == fingerprint })
	if i < 0 || !at.After(a.Keys[i].LastUsedAt) {
		return nil
	}
	a.Keys[i].LastUsedAt = at
	_, err = t.putKeys(a, false)
	return err
}

// putKeys stores a after a change to its keys; changed bumps Version and
// writes a feed entry (a use of a key is not a change anyone watches).
func (t *boltTx) putKeys(a Account, changed bool) (Account, error) {
	if changed {
		a.Version++
		a.UpdatedAt = t.now
	}
	if err := putJSON(t.tx.Bucket(bucketAccounts), []byte(a.ID), &a); err != nil {
		return Account{}, err
	}
	if changed {
		t.markChanged(a.ID)
	}
	return a, nil
}
