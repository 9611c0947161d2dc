package billing

import (
	"context"
	"fmt"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// One subscription per account. Derive keeps the account on the
// subscription it holds and records any other live one of the account as
// SecondSubscriptionID; the functions here are the service's side of that
// rule: taking over the second one when the account's own has ended, and
// the ops action that cancels the second one.

// successor is what the account moves to when snap shows that the
// subscription it holds has ended while a second live one of the account
// is on record: that second subscription, marked as replacing the ended
// one, so the account is on the subscription Stripe still bills (an
// in-order delivery would have adopted it when it was created). nil when
// snap is not the end of the held subscription, there is no second one, or
// it is no longer live (Derive then clears the record with the next event).
//
// With no second subscription on record (its news may not have arrived
// yet), the customer's subscriptions are listed: the newest live one of the
// account takes over, so the order in which Stripe's events arrive does not
// decide whether the account passes through Free on the way.
func (s *Service) successor(ctx context.Context, acct store.Account, snap *Snapshot) (*Snapshot, *stripe.Subscription, error) {
	if snap.ID != acct.SubscriptionID || live(snap.Status) || acct.CustomerID == "" {
		return nil, nil, nil
	}
	if acct.SecondSubscriptionID == "" {
		found, err := s.listSubscriptions(ctx, acct)
		if err != nil {
			return nil, nil, fmt.Errorf("list subscriptions: %w", err)
		}
		if found.live == nil || found.live.ID == snap.ID {
			return nil, nil, nil
		}
		acct.SecondSubscriptionID = found.live.ID
	}
	// Fetched with everything a snapshot reads (a listing has no card).
	sub, err := s.fetchSubscription(ctx, acct.SecondSubscriptionID)
	if isMissing(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetch second subscription: %w", err)
	}
	next := s.snapshot(sub)
	if !live(next.Status) || !next.BelongsTo(acct.ID) {
		return nil, nil, nil
	}
	next.Replaces = acct.SubscriptionID
	return next, sub, nil
}

// CancelSecondSubscription cancels the account's second live subscription
// (SecondSubscriptionID) now: an ops action. With credit, the unused part
// of its paid period is credited to the customer (Stripe's prorate and
// invoice_now: a final invoice whose credit goes to the customer's
// balance, used by their next invoices); without, nothing is given back.
// The account's own subscription is not touched. With no second
// subscription on record it returns ErrNoSubscription.
func (s *Service) CancelSecondSubscription(ctx context.Context, accountID string, credit bool) (store.Account, error) {
	const op = "CancelSecondSubscription"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if acct.SecondSubscriptionID == "" {
		return acct, wrap(op, ErrNoSubscription)
	}
	p := &stripe.SubscriptionCancelParams{}
	if credit {
		p.Prorate, p.InvoiceNow = stripe.Bool(true), stripe.Bool(true)
	}
	p.Context = ctx
	p.SetIdempotencyKey(fmt.Sprintf("portal-cancel-second-%s-%t", acct.SecondSubscriptionID, credit))
	expandSubscription(&p.Params)
	sub, err := s.api.Subscriptions.Cancel(acct.SecondSubscriptionID, p)
	if isMissing(err) {
		// Already gone at Stripe (canceled elsewhere): forget it.
		acct, err = s.db.UpdateAccount(acct.ID, func(a *store.Account) error {
			if a.SecondSubscriptionID == acct.SecondSubscriptionID {
				a.SecondSubscriptionID, a.SecondSubscriptionPlan = "", ""
			}
			return nil
		})
		return acct, wrap(op, storeErr(err))
	}
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	return s.commit(op, acct.ID, nil, s.snapshot(sub))
}
