package postgres

import (
	"slices"
	"time"

	"github.com/portal/portal/store"
)

// RemoveKey removes the key from the account and frees its fingerprint; see
// store.Tx.
func (t *pgTx) RemoveKey(accountID, fingerprint string) (store.Account, error) {
	a, err := t.lockAccount(accountID)
	if err != nil {
		return store.Account{}, err
	}
	i := slices.IndexFunc(a.Keys, func(k store.Key) bool { return k.Fingerprint == fingerprint })
	if i < 0 {
		return store.Account{}, store.ErrNotFound
	}
	if len(a.Keys) == 1 {
		return store.Account{}, store.ErrLastKey
	}
	if _, err := t.exec("DELETE FROM account_keys WHERE fingerprint = $1 AND account_id = $2", fingerprint, a.ID); err != nil {
		return store.Account{}, err
	}
	a.Keys = slices.Delete(a.Keys, i, i+1)
	return t.putKeys(a, true)
}

// SetKeyLabel names one of the account's keys; see store.Tx.
func (t *pgTx) SetKeyLabel(accountID, fingerprint, label string) (store.Account, error) {
	a, err := t.lockAccount(accountID)
	if err != nil {
		return store.Account{}, err
	}
	i := slices.IndexFunc(a.Keys, func(k store.Key) bool { return k.Fingerprint == fingerprint })
	if i < 0 {
		return store.Account{}, store.ErrNotFound
	}
	a.Keys[i].Label = store.CleanLabel(label)
	return t.putKeys(a, true)
}

// KeyUsed records that the key opened a session at at; see store.Tx. It
// bumps no Version and writes no feed entry.
func (t *pgTx) KeyUsed(fingerprint string, at time.Time) error {
	var id string
	if err := t.tx.QueryRow(t.ctx, "SELECT account_id FROM account_keys WHERE fingerprint = $1", fingerprint).Scan(&id); err != nil {
		if isNoRows(err) {
			return store.ErrNotFound
		}
		return t.fail(err)
	}
	a, err := t.lockAccount(id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(a.Keys, func(k store.Key) bool { return k.Fingerprint == fingerprint })
	if i < 0 || !at.After(a.Keys[i].LastUsedAt) {
		return nil
	}
	a.Keys[i].LastUsedAt = at
	_, err = t.putKeys(a, false)
	return err
}

// putKeys stores a after a change to its keys; changed bumps Version and
// writes a feed entry (a use of a key is not a change anyone watches).
func (t *pgTx) putKeys(a store.Account, changed bool) (store.Account, error) {
	if changed {
		a.Version++
		a.UpdatedAt = t.now
	}
	if err := t.putAccount(a, a); err != nil { // email and customer unchanged
		return store.Account{}, err
	}
	if changed {
		t.markChanged(a.ID)
	}
	return a, nil
}

// PutLinkCode stores a new link code for c.AccountID, replacing its earlier
// one; see store.Tx.
func (t *pgTx) PutLinkCode(c store.LinkCode) (store.LinkCode, error) {
	if c.Code == "" || c.AccountID == "" || c.ExpiresAt.IsZero() {
		return store.LinkCode{}, errPutLinkCode
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = t.now
	}
	c.UsedAt, c.UsedBy = time.Time{}, ""
	if ok, err := t.exists("SELECT 1 FROM accounts WHERE id = $1", c.AccountID); err != nil || !ok {
		if err == nil {
			err = store.ErrNotFound
		}
		return store.LinkCode{}, err
	}
	if taken, err := t.exists("SELECT 1 FROM link_codes WHERE code = $1", c.Code); err != nil || taken {
		if err == nil {
			err = store.ErrLinkTaken
		}
		return store.LinkCode{}, err
	}
	data, err := jsonOf(&c)
	if err != nil {
		return store.LinkCode{}, err
	}
	if _, err := t.exec("DELETE FROM link_codes WHERE account_id = $1", c.AccountID); err != nil {
		return store.LinkCode{}, err
	}
	if _, err := t.exec("INSERT INTO link_codes (code, account_id, data) VALUES ($1, $2, $3)", c.Code, c.AccountID, data); err != nil {
		return store.LinkCode{}, err
	}
	return c, nil
}

// LinkCode returns the stored code, used or not; see store.ReadTx.
func (t *pgTx) LinkCode(code string) (store.LinkCode, error) {
	var c store.LinkCode
	if code == "" {
		return c, store.ErrNotFound
	}
	err := t.getJSON(&c, "SELECT data FROM link_codes WHERE code = $1", code)
	return c, err
}

// UseLinkCode marks the code used, once; see store.Tx. The row is locked,
// so two instances using one code at once cannot both succeed.
func (t *pgTx) UseLinkCode(code, fingerprint string, at time.Time) (store.LinkCode, error) {
	var c store.LinkCode
	if code == "" {
		return c, store.ErrNotFound
	}
	if err := t.getJSON(&c, "SELECT data FROM link_codes WHERE code = $1 FOR UPDATE", code); err != nil {
		return store.LinkCode{}, err
	}
	switch {
	case !c.UsedAt.IsZero():
		return c, store.ErrCodeUsed
	case !at.Before(c.ExpiresAt):
		return c, store.ErrCodeExpired
	}
	c.UsedAt, c.UsedBy = at, fingerprint
	data, err := jsonOf(&c)
	if err != nil {
		return store.LinkCode{}, err
	}
	if _, err := t.exec("UPDATE link_codes SET data = $2 WHERE code = $1", code, data); err != nil {
		return store.LinkCode{}, err
	}
	return c, nil
}
