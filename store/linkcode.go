package store

import (
	"errors"
	"time"
)

var (
	// ErrCodeUsed is returned by UseLinkCode for a code that already linked a key.
	ErrCodeUsed = errors.New("store: link code already used")
	// ErrCodeExpired is returned by UseLinkCode for a code past its expiry.
	ErrCodeExpired = errors.New("store: link code expired")
)

// LinkCode is a short one-time code that adds the key of whoever presents it
// to an account (a new machine of the same customer). It is stored, not
// kept in memory, so a code made in a session on one instance of the portal
// works on any other.
type LinkCode struct {
	Code      string // normalised as the caller presents it (upper case, no separators)
	AccountID string
	CreatedBy string    // fingerprint of the key whose session made it
	CreatedAt time.Time // set by the store when zero
	ExpiresAt time.Time
	UsedAt    time.Time `json:",omitzero"`  // zero until used
	UsedBy    string    `json:",omitempty"` // fingerprint of the key it added
}

// Layout: link_codes: code → LinkCode JSON; link_codes_by_acct: account id →
// its one code.

// PutLinkCode stores c; see Tx.PutLinkCode.
func (t *boltTx) PutLinkCode(c LinkCode) (LinkCode, error) {
	if c.Code == "" || c.AccountID == "" || c.ExpiresAt.IsZero() {
		return LinkCode{}, errors.New("store: put link code: code, account id and expiry are required")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = t.now
	}
	c.UsedAt, c.UsedBy = time.Time{}, ""
	if _, err := getAccount(t.tx, c.AccountID); err != nil {
		return LinkCode{}, err
	}
	codes, byAcct := t.tx.Bucket(bucketLinkCodes), t.tx.Bucket(bucketLinkCodesByAcct)
	if codes.Get([]byte(c.Code)) != nil {
		return LinkCode{}, ErrLinkTaken
	}
	if old := byAcct.Get([]byte(c.AccountID)); old != nil {
		if err := codes.Delete(old); err != nil {
			return LinkCode{}, err
		}
	}
	if err := byAcct.Put([]byte(c.AccountID), []byte(c.Code)); err != nil {
		return LinkCode{}, err
	}
	return c, putJSON(codes, []byte(c.Code), &c)
}

// LinkCode returns the stored code, used or not; see ReadTx.LinkCode.
func (t *boltTx) LinkCode(code string) (LinkCode, error) {
	return getRecord[LinkCode](t.tx.Bucket(bucketLinkCodes), code)
}

// UseLinkCode marks the code used; see Tx.UseLinkCode.
func (t *boltTx) UseLinkCode(code, fingerprint string, at time.Time) (LinkCode, error) {
	c, err := t.LinkCode(code)
	if err != nil {
		return LinkCode{}, err
	}
	switch {
	case !c.UsedAt.IsZero():
		return c, ErrCodeUsed
	case !at.Before(c.ExpiresAt):
		return c, ErrCodeExpired
	}
	c.UsedAt, c.UsedBy = at, fingerprint
	return c, putJSON(t.tx.Bucket(bucketLinkCodes), []byte(code), &c)
}
