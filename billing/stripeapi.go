package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// ensureCustomer creates the account's Stripe customer on first need (one per
// account: idempotency key and a check under the store's lock).
func (s *Service) ensureCustomer(ctx context.Context, acct store.Account) (store.Account, error) {
	if acct.CustomerID != "" {
		return acct, nil
	}
	p := &stripe.CustomerParams{Email: stripe.String(acct.Email), Metadata: map[string]string{"account_id": acct.ID}}
	p.Context = ctx
	p.SetIdempotencyKey("portal-customer-" + acct.ID)
	c, err := s.api.Customers.New(p)
	if err != nil {
		return acct, err
	}
	acct, err = s.db.UpdateAccount(acct.ID, func(a *store.Account) error {
		if a.CustomerID == "" {
			a.CustomerID = c.ID
		}
		return nil
	})
	return acct, storeErr(err)
}

// priceID finds the Stripe price of plan by its lookup key (cached).
func (s *Service) priceID(ctx context.Context, plan Plan) (string, error) {
	s.mu.Lock()
	id := s.prices[plan.LookupKey]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	pr, err := findPrice(ctx, s.api, plan.LookupKey)
	if err != nil {
		return "", err
	}
	if pr == nil {
		return "", fmt.Errorf("no active Stripe price with lookup key %q: run `portal stripe-setup`", plan.LookupKey)
	}
	s.mu.Lock()
	s.prices[plan.LookupKey] = pr.ID
	s.mu.Unlock()
	return pr.ID, nil
}

func findPrice(ctx context.Context, api *client.API, lookupKey string) (*stripe.Price, error) {
	p := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(lookupKey)}, Active: stripe.Bool(true)}
	p.Context = ctx
	p.Single = true
	it := api.Prices.List(p)
	// Stripe filters by lookup key; an active key names one price.
	for it.Next() {
		if pr := it.Price(); pr != nil && pr.ID != "" {
			return pr, nil
		}
	}
	return nil, it.Err()
}

func (s *Service) currency(a store.Account) string {
	if a.Currency != "" {
		return a.Currency
	}
	if p, ok := s.cat.Plan(a.Plan); ok {
		return p.Currency
	}
	return "usd"
}

// fetchSubscription gets the subscription with everything SnapshotOf reads.
func (s *Service) fetchSubscription(ctx context.Context, id string) (*stripe.Subscription, error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	expandSubscription(&p.Params)
	return s.api.Subscriptions.Get(id, p)
}

// expandSubscription asks for the card, the latest invoice and the
// schedule's phases in the response.
func expandSubscription(p *stripe.Params) {
	p.AddExpand("default_payment_method")
	p.AddExpand("customer.invoice_settings.default_payment_method")
	p.AddExpand("latest_invoice")
	// The scheduled change (a downgrade at the period end) is the
	// schedule's next phase; its price's lookup key names the plan.
	p.AddExpand("schedule.phases.items.price")
}

// snapshot is SnapshotOf with the plan resolved through the catalog.
func (s *Service) snapshot(sub *stripe.Subscription) *Snapshot {
	snap := SnapshotOf(sub)
	p, ok := s.cat.PlanByLookupKey(snap.LookupKey)
	snap.CatalogPrice = ok
	if ok {
		snap.PlanID = p.ID
	} else if _, ok := s.cat.Plan(snap.PlanID); !ok {
		snap.PlanID = ""
	}
	snap.ScheduledPlan = ""
	if p, ok := s.cat.PlanByLookupKey(snap.ScheduledLookupKey); ok {
		snap.ScheduledPlan = p.ID
	}
	return &snap
}

// isMissing reports whether err is Stripe's 404 for an object.
func isMissing(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing)
}
