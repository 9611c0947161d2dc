package store

import (
	"errors"
)

// Layout: pending_checkouts: account id → PendingCheckout JSON;
// pending_by_session: Checkout Session id → account id.

// PutPendingCheckout records the plan an account chose; see Tx.PutPendingCheckout.
func (t *boltTx) PutPendingCheckout(p PendingCheckout) error {
	if p.AccountID == "" || p.Plan == "" {
		return errors.New("store: put pending checkout: account id and plan are required")
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = t.now
	}
	if err := t.DeletePendingCheckout(p.AccountID); err != nil {
		return err
	}
	if p.SessionID != "" {
		if err := t.tx.Bucket(bucketPendingBySes).Put([]byte(p.SessionID), []byte(p.AccountID)); err != nil {
			return err
		}
	}
	return putJSON(t.tx.Bucket(bucketPending), []byte(p.AccountID), &p)
}

// DeletePendingCheckout forgets the account's pending checkout, if any.
func (t *boltTx) DeletePendingCheckout(accountID string) error {
	old, err := t.PendingCheckout(accountID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if old.SessionID != "" {
		if err := t.tx.Bucket(bucketPendingBySes).Delete([]byte(old.SessionID)); err != nil {
			return err
		}
	}
	return t.tx.Bucket(bucketPending).Delete([]byte(accountID))
}

// PendingCheckout returns the account's pending checkout, or ErrNotFound.
func (t *boltTx) PendingCheckout(accountID string) (PendingCheckout, error) {
	return getRecord[PendingCheckout](t.tx.Bucket(bucketPending), accountID)
}

// PendingCheckoutBySession returns the pending checkout of Checkout Session
// sessionID, or ErrNotFound.
func (t *boltTx) PendingCheckoutBySession(sessionID string) (PendingCheckout, error) {
	if sessionID == "" {
		return PendingCheckout{}, ErrNotFound
	}
	id := t.tx.Bucket(bucketPendingBySes).Get([]byte(sessionID))
	if id == nil {
		return PendingCheckout{}, ErrNotFound
	}
	return t.PendingCheckout(string(id))
}
