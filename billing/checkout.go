package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/portal/portal/store"
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

// CardLink returns a hosted Checkout page for the account. With a live
// subscription it is a setup-mode session that saves a card (the webhook then
// makes it the customer's default and resumes a paused subscription or pays
// an open invoice). Without one (canceled, or a paid plan chosen after the
// trial was used) it is a subscription-mode session for the chosen plan,
// without a trial. Links expire; a new one can be made at any time.
func (s *Service) CardLink(ctx context.Context, accountID string) (Link, error) {
	const op = "CardLink"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	if !acct.HasLiveSubscription() {
		// The paid plan chosen while a card was needed, kept in the store
		// so that it survives a restart; else the account's plan.
		planID := acct.Plan
		pending, err := s.db.PendingCheckout(accountID)
		switch {
		case err == nil:
			planID = pending.Plan
		case !errors.Is(err, store.ErrNotFound):
			return Link{}, wrap(op, storeErr(err))
		}
		link, err := s.CheckoutLink(ctx, accountID, planID)
		if err == nil && pending.Plan != "" {
			pending.SessionID = link.SessionID
			s.setPending(pending)
		}
		return link, err
	}
	if acct, err = s.ensureCustomer(ctx, acct); err != nil {
		return Link{}, wrap(op, err)
	}
	meta := map[string]string{"account_id": acct.ID, "subscription_id": acct.SubscriptionID}
	p := &stripe.CheckoutSessionParams{
		Mode:            stripe.String(string(stripe.CheckoutSessionModeSetup)),
		Customer:        stripe.String(acct.CustomerID),
		Currency:        stripe.String(s.currency(acct)),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{Metadata: meta},
		Metadata:        meta,
	}
	return s.checkout(ctx, op, acct.ID, p)
}

// CheckoutLink returns a subscription-mode Checkout page that starts planID
// (a paid plan) without a trial: for accounts whose trial is used and whose
// subscription is gone. CardLink calls it when there is no live subscription.
func (s *Service) CheckoutLink(ctx context.Context, accountID, planID string) (Link, error) {
	const op = "CheckoutLink"
	plan, ok := s.cat.Plan(planID)
	if ok && plan.Free() {
		// A script's `card` on Free reaches here; say why, not "no subscription".
		return Link{}, &Error{Op: op, Msg: "The Free plan needs no card; choose a paid plan first.", Err: ErrNoSubscription}
	}
	if !ok {
		return Link{}, wrap(op, ErrNoSubscription)
	}
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	if acct.HasLiveSubscription() {
		// Selling a plan to an account that has one would make a second
		// subscription (a screen opened before another session subscribed).
		return Link{}, &Error{Op: op, Msg: "Your account already has a subscription: go back to see it, and change plan from there.",
			Err: fmt.Errorf("account %s has live subscription %s", acct.ID, acct.SubscriptionID)}
	}
	if acct, err = s.ensureCustomer(ctx, acct); err != nil {
		return Link{}, wrap(op, err)
	}
	price, err := s.priceID(ctx, plan)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	meta := map[string]string{"account_id": acct.ID, "plan": plan.ID}
	p := &stripe.CheckoutSessionParams{
		Mode:             stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:         stripe.String(acct.CustomerID),
		LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
		Metadata:         meta,
	}
	return s.checkout(ctx, op, acct.ID, p)
}

// checkout creates the Checkout Session p for account accountID with the
// portal's return pages, expires the account's earlier open sessions (see
// expireOtherCheckouts) and hands out the new one's short link.
func (s *Service) checkout(ctx context.Context, op, accountID string, p *stripe.CheckoutSessionParams) (Link, error) {
	// One link at a time per account: two concurrent requests must not
	// each expire the other's session.
	defer s.checkouts.lock(accountID)()
	p.SuccessURL = stripe.String(s.publicURL + "/checkout/success?session_id={CHECKOUT_SESSION_ID}")
	p.CancelURL = stripe.String(s.publicURL + "/checkout/cancel")
	p.Context = ctx
	sess, err := s.api.CheckoutSessions.New(p)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	if err := s.expireOtherCheckouts(ctx, stripe.StringValue(p.Customer), accountID, sess.ID); err != nil {
		return Link{}, wrap(op, err)
	}
	return s.shorten(Link{URL: sess.URL, ExpiresAt: unixTime(sess.ExpiresAt), SessionID: sess.ID}, checkoutLinkTTL), nil
}

// PortalLink returns a Stripe customer portal session (card, invoices,
// cancel). Its short link lives 24 hours.
func (s *Service) PortalLink(ctx context.Context, accountID string) (Link, error) {
	const op = "PortalLink"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	if acct.CustomerID == "" {
		return Link{}, &Error{Op: op, Msg: "There is no subscription yet, so no invoices or billing details: they start with a paid plan.", Err: ErrNoSubscription}
	}
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(acct.CustomerID), ReturnURL: stripe.String(s.publicURL + "/")}
	p.Context = ctx
	sess, err := s.api.BillingPortalSessions.New(p)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	return s.shorten(Link{URL: sess.URL, SessionID: sess.ID}, portalLinkTTL), nil
}
