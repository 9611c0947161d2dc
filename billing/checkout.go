package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// expireOtherCheckouts expires every open Checkout Session of customerID
// that the portal made for accountID (account_id metadata), except keep.
// A Checkout link stays payable for 24 hours at Stripe: without this, two
// links of one account (the add-card screen opened twice, a fresh link
// asked for) could both be paid, making two subscriptions for one
// customer. A session completed or expired meanwhile is skipped: only an
// open one can be expired.
func (s *Service) expireOtherCheckouts(ctx context.Context, customerID, accountID, keep string) error {
	if customerID == "" {
		return nil
	}
	lp := &stripe.CheckoutSessionListParams{Customer: stripe.String(customerID), Status: stripe.String(string(stripe.CheckoutSessionStatusOpen))}
	lp.Context = ctx
	lp.Limit = stripe.Int64(100)
	var ids []string
	it := s.api.CheckoutSessions.List(lp)
	for it.Next() {
		cs := it.CheckoutSession()
		if cs == nil || cs.ID == keep || cs.Status != stripe.CheckoutSessionStatusOpen || cs.Metadata["account_id"] != accountID {
			continue
		}
		ids = append(ids, cs.ID)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list open checkout sessions: %w", err)
	}
	for _, id := range ids {
		ep := &stripe.CheckoutSessionExpireParams{}
		ep.Context = ctx
		_, err := s.api.CheckoutSessions.Expire(id, ep)
		if err != nil && !isMissing(err) && s.stillOpen(ctx, id) {
			return fmt.Errorf("expire checkout session %s: %w", id, err)
		}
		s.log.Info("billing: earlier checkout session expired", "account", accountID, "session", id)
	}
	return nil
}

// stillOpen reports whether Checkout Session id is open, or may be (it
// could not be read): Stripe refuses to expire a session that completed or
// expired since it was listed, and that refusal is no failure.
func (s *Service) stillOpen(ctx context.Context, id string) bool {
	p := &stripe.CheckoutSessionParams{}
	p.Context = ctx
	cs, err := s.api.CheckoutSessions.Get(id, p)
	return err != nil || cs.Status == stripe.CheckoutSessionStatusOpen
}
