package billing

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// ErrEmailTaken: another account uses the address.
var errEmailTaken = &Error{Op: "ChangeEmail", Msg: "That address is already used by another account.", Err: store.ErrEmailTaken}

// ChangeEmail moves the account to email (already validated by the
// caller), keeping its Stripe customer's email in step: Stripe first, so a
// failure there changes nothing; then the store, with an audit entry by
// actor in the same transaction. An address another account uses is
// refused; if the store then refuses it (a race), Stripe gets the old
// address back.
func (s *Service) ChangeEmail(ctx context.Context, accountID, email, actor string) (store.Account, error) {
	const op = "ChangeEmail"
	email = strings.TrimSpace(email)
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if acct.Email == email {
		return acct, nil
	}
	var taken bool
	err = s.db.Update(ctx, func(tx store.Tx) error {
		other, err := tx.AccountByEmail(email)
		taken = err == nil && other.ID != accountID
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if taken {
		return store.Account{}, errEmailTaken
	}
	setStripe := func(addr, key string) error {
		if acct.CustomerID == "" {
			return nil
		}
		p := &stripe.CustomerParams{Email: stripe.String(addr)}
		p.Context = ctx
		p.SetIdempotencyKey(key)
		_, err := s.api.Customers.Update(acct.CustomerID, p)
		return err
	}
	version := strconv.FormatUint(acct.Version, 10)
	if err := setStripe(email, "portal-email-"+acct.ID+"-"+version); err != nil {
		return store.Account{}, wrap(op, err)
	}
	var after store.Account
	err = s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		after, err = tx.UpdateAccount(accountID, func(a *store.Account) error { a.Email = email; return nil })
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(store.AuditEntry{Actor: actor, AccountID: accountID, Action: "email.change", Before: acct.Email, After: email})
		return err
	})
	if err != nil {
		if rerr := setStripe(acct.Email, "portal-email-undo-"+acct.ID+"-"+version); rerr != nil {
			s.log.Error("email change: Stripe keeps the new address, the store the old", "account", accountID, "err", rerr)
		}
		if errors.Is(err, store.ErrEmailTaken) {
			return store.Account{}, errEmailTaken
		}
		return store.Account{}, wrap(op, storeErr(err))
	}
	s.log.Info("email changed", "account", accountID, "actor", actor)
	return after, nil
}
