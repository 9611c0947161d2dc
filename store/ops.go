package store

import (
	"context"
	"errors"
	"time"
)

// Ops implements Accounts over an Engine, each method one transaction, so an
// engine writes each rule once (in its Tx) and gets the one-call methods by
// embedding Ops{E: itself}. An engine may still override a method (a
// single-statement read, say) as long as it behaves the same.
type Ops struct {
	E Engine
}

func (o Ops) view(fn func(ReadTx) error) error { return o.E.View(context.Background(), fn) }
func (o Ops) update(fn func(Tx) error) error   { return o.E.Update(context.Background(), fn) }

// readOne and writeOne run fn in its own transaction and return what it
// returned.
func readOne[T any](o Ops, fn func(ReadTx) (T, error)) (T, error) { return inTx(o.view, fn) }
func writeOne[T any](o Ops, fn func(Tx) (T, error)) (T, error)    { return inTx(o.update, fn) }

func inTx[X, T any](run func(func(X) error) error, fn func(X) (T, error)) (T, error) {
	var v T
	err := run(func(tx X) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// page is a page of a listing and the cursor of the next.
type page[T any] struct {
	items []T
	next  string
}

// readPage is readOne for a paged listing.
func readPage[T any](o Ops, fn func(ReadTx) ([]T, string, error)) ([]T, string, error) {
	p, err := readOne(o, func(tx ReadTx) (page[T], error) {
		items, next, err := fn(tx)
		return page[T]{items, next}, err
	})
	return p.items, p.next, err
}

// CreateAccount is Tx.CreateAccount in its own transaction.
func (o Ops) CreateAccount(email string, key Key) (Account, error) {
	return writeOne(o, func(tx Tx) (Account, error) { return tx.CreateAccount(email, key) })
}

// Account returns the account with id, or ErrNotFound.
func (o Ops) Account(id string) (Account, error) {
	return readOne(o, func(tx ReadTx) (Account, error) { return tx.Account(id) })
}

// AccountByKey returns the account holding the key fingerprint. ErrNotFound
// means the key is unknown; any other error means the store failed and the
// key may well be registered.
func (o Ops) AccountByKey(fingerprint string) (Account, error) {
	return readOne(o, func(tx ReadTx) (Account, error) { return tx.AccountByKey(fingerprint) })
}

// AccountByEmail returns the account using email (case-insensitive, trimmed).
func (o Ops) AccountByEmail(email string) (Account, error) {
	return readOne(o, func(tx ReadTx) (Account, error) { return tx.AccountByEmail(email) })
}

// AccountByCustomer returns the account linked to the Stripe customer id.
func (o Ops) AccountByCustomer(customerID string) (Account, error) {
	return readOne(o, func(tx ReadTx) (Account, error) { return tx.AccountByCustomer(customerID) })
}

// AddKey is Tx.AddKey in its own transaction.
func (o Ops) AddKey(accountID string, key Key) (Account, error) {
	return writeOne(o, func(tx Tx) (Account, error) { return tx.AddKey(accountID, key) })
}

// RemoveKey is Tx.RemoveKey in its own transaction.
func (o Ops) RemoveKey(accountID, fingerprint string) (Account, error) {
	return writeOne(o, func(tx Tx) (Account, error) { return tx.RemoveKey(accountID, fingerprint) })
}

// SetKeyLabel is Tx.SetKeyLabel in its own transaction.
func (o Ops) SetKeyLabel(accountID, fingerprint, label string) (Account, error) {
	return writeOne(o, func(tx Tx) (Account, error) { return tx.SetKeyLabel(accountID, fingerprint, label) })
}

// KeyUsed is Tx.KeyUsed in its own transaction.
func (o Ops) KeyUsed(fingerprint string, at time.Time) error {
	return o.update(func(tx Tx) error { return tx.KeyUsed(fingerprint, at) })
}

// UpdateAccount is Tx.UpdateAccount in its own transaction; fn's error
// aborts it and is returned as is. fn may run more than once (see
// Engine.Update): it must only change the Account it is given.
func (o Ops) UpdateAccount(id string, fn func(*Account) error) (Account, error) {
	return writeOne(o, func(tx Tx) (Account, error) { return tx.UpdateAccount(id, fn) })
}

// ForEachAccount visits accounts in id order inside one read transaction
// until fn returns false. fn must not call the store.
func (o Ops) ForEachAccount(fn func(Account) bool) error {
	return o.view(func(tx ReadTx) error { return tx.ForEachAccount(fn) })
}

// CountAccounts returns the number of accounts.
func (o Ops) CountAccounts() (int, error) {
	return readOne(o, func(tx ReadTx) (int, error) { return tx.CountAccounts() })
}

// EventProcessed reports whether event id has a final record (processed or
// ignored), i.e. whether a redelivery should be a no-op.
func (o Ops) EventProcessed(id string) (bool, error) {
	return readOne(o, func(tx ReadTx) (bool, error) {
		ev, err := tx.Event(id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil && ev.Status.Final(), err
	})
}

// ApplyEvent atomically records ev and, when accountID != "" and fn != nil,
// updates that account as UpdateAccount does (fn's error aborts both;
// ErrNotFound when the account does not exist). ev.Status defaults to
// processed; ev.AccountID to accountID.
//
// If ev.ID already has a final record, only its Duplicates counter changes
// and ApplyEvent returns dup=true with a zero Account. acct is the updated
// account when fn ran, else zero. fn may run more than once, on a fresh copy
// each time.
func (o Ops) ApplyEvent(ev Event, accountID string, fn func(*Account) error) (acct Account, dup bool, err error) {
	if ev.AccountID == "" {
		ev.AccountID = accountID
	}
	err = o.update(func(tx Tx) error {
		acct, dup = Account{}, false
		var err error
		if dup, err = tx.RecordEvent(ev); err != nil || dup {
			return err
		}
		if accountID != "" && fn != nil {
			acct, err = tx.UpdateAccount(accountID, fn)
		}
		return err
	})
	if err != nil {
		return Account{}, false, err
	}
	return acct, dup, nil
}

// RecordEvent logs ev without touching any account, for events that were
// ignored or failed; ev.Status defaults to ignored. A final record of the
// same id only counts a duplicate.
func (o Ops) RecordEvent(ev Event) error {
	if ev.Status == "" {
		ev.Status = EventStatusIgnored
	}
	return o.update(func(tx Tx) error {
		_, err := tx.RecordEvent(ev)
		return err
	})
}

// Events returns up to limit events (all when limit <= 0), newest first by ReceivedAt.
func (o Ops) Events(limit int) ([]Event, error) {
	return readOne(o, func(tx ReadTx) ([]Event, error) { return tx.Events("", limit) })
}

// EventsForAccount returns up to limit events of accountID (all when limit
// <= 0), newest first by ReceivedAt.
func (o Ops) EventsForAccount(accountID string, limit int) ([]Event, error) {
	if accountID == "" {
		return nil, nil
	}
	return readOne(o, func(tx ReadTx) ([]Event, error) { return tx.Events(accountID, limit) })
}

// AddNotice is Tx.AddNotice in its own transaction.
func (o Ops) AddNotice(n Notice) (Notice, bool, error) {
	type result struct {
		n     Notice
		added bool
	}
	r, err := writeOne(o, func(tx Tx) (result, error) {
		got, added, err := tx.AddNotice(n)
		return result{got, added}, err
	})
	if err != nil {
		return Notice{}, false, err
	}
	return r.n, r.added, nil
}

// Notices returns the account's notices, newest first.
func (o Ops) Notices(accountID string) ([]Notice, error) {
	return readOne(o, func(tx ReadTx) ([]Notice, error) { return tx.Notices(accountID) })
}

// Outbox returns the notices not yet mailed, oldest first.
func (o Ops) Outbox() ([]Notice, error) {
	return readOne(o, func(tx ReadTx) ([]Notice, error) { return tx.Outbox() })
}

// MarkMailed is Tx.MarkMailed in its own transaction.
func (o Ops) MarkMailed(id string, at time.Time, mailErr error, retryAt time.Time) error {
	return o.update(func(tx Tx) error { return tx.MarkMailed(id, at, mailErr, retryAt) })
}

// Requeue is Tx.Requeue in its own transaction.
func (o Ops) Requeue(id string) (Notice, error) {
	return writeOne(o, func(tx Tx) (Notice, error) { return tx.Requeue(id) })
}

// DismissNotice is Tx.DismissNotice in its own transaction.
func (o Ops) DismissNotice(accountID, id string, at time.Time) error {
	return o.update(func(tx Tx) error { return tx.DismissNotice(accountID, id, at) })
}

// MailPage is ReadTx.MailPage in its own transaction.
func (o Ops) MailPage(before string, limit int) ([]Notice, string, error) {
	return readPage(o, func(tx ReadTx) ([]Notice, string, error) { return tx.MailPage(before, limit) })
}

// AppendAudit is Tx.AppendAudit in its own transaction.
func (o Ops) AppendAudit(e AuditEntry) (AuditEntry, error) {
	e, err := writeOne(o, func(tx Tx) (AuditEntry, error) { return tx.AppendAudit(e) })
	if err != nil {
		return AuditEntry{}, err
	}
	return e, nil
}

// Audit returns up to limit entries (all when limit <= 0), newest first.
func (o Ops) Audit(accountID string, limit int) ([]AuditEntry, error) {
	return readOne(o, func(tx ReadTx) ([]AuditEntry, error) { return tx.Audit(accountID, limit) })
}

// AuditPage is ReadTx.AuditPage in its own transaction.
func (o Ops) AuditPage(accountID, before string, limit int) ([]AuditEntry, string, error) {
	return readPage(o, func(tx ReadTx) ([]AuditEntry, string, error) { return tx.AuditPage(accountID, before, limit) })
}

// PendingCheckout returns the account's pending checkout, or ErrNotFound.
func (o Ops) PendingCheckout(accountID string) (PendingCheckout, error) {
	return readOne(o, func(tx ReadTx) (PendingCheckout, error) { return tx.PendingCheckout(accountID) })
}

// PendingCheckoutBySession returns the pending checkout of Checkout Session
// sessionID, or ErrNotFound.
func (o Ops) PendingCheckoutBySession(sessionID string) (PendingCheckout, error) {
	return readOne(o, func(tx ReadTx) (PendingCheckout, error) { return tx.PendingCheckoutBySession(sessionID) })
}

// Subscribe delivers the changes committed from now on (see SubscribeFrom).
// When the store cannot say where "now" is, it starts from the beginning of
// the feed: more wake-ups, never fewer.
func (o Ops) Subscribe(accountID string) *Subscription {
	seq, _ := o.E.LastSeq(context.Background(), accountID)
	return o.E.SubscribeFrom(accountID, seq)
}
