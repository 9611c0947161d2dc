package tui_test

import (
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"golang.org/x/crypto/ssh"
)

// Every Stripe configuration an operator can choose, end to end: the
// trial's end behaviour without a card (-trial-end-behavior) × the state
// Stripe's retry setting ends in (the sandbox's -sandbox-failed-payment),
// with a short retry schedule (1 and 2 days). In each cell one account
// ends its trial without a card and another with a card whose charges
// fail; each has an open SSH session that is never touched once the
// clock starts moving, and must redraw by itself to the state Stripe's
// documentation gives:
//
//   - no card, pause: the subscription is paused → locked until a card;
//   - no card, cancel: the subscription is canceled → locked, re-subscribe;
//   - no card, create_invoice: an invoice the customer cannot pay → past
//     due ("no card to charge": Stripe retries nothing without one), then
//     what the retry setting ends in when its window closes;
//   - failing card (any behaviour): past due at the trial end, then
//     unpaid → locked until the card is fixed; canceled → locked, the
//     subscription has ended; past_due → left past due, retries over.
func TestJourneyLifecycleMatrix(t *testing.T) {
	t.Parallel()
	type final struct {
		state store.State
		text  string // what the untouched session shows in that state
	}
	locked := map[string]final{
		"unpaid":   {store.StateLockedUnpaid, "could not be paid, and Stripe has stopped retrying."},
		"canceled": {store.StateLockedCanceled, "subscription has ended."},
		"past_due": {store.StatePastDue, "State         payment failed, no more retries"},
	}
	for _, behavior := range []string{"pause", "cancel", "create_invoice"} {
		for _, outcome := range []string{"unpaid", "canceled", "past_due"} {
			t.Run(behavior+"/"+outcome, func(t *testing.T) {
				t.Parallel()
				p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) {
					c.TrialEndBehavior, c.SandboxFailedPayment = behavior, outcome
					c.SandboxRetryDelays = []time.Duration{day, 2 * day}
				}))
				retried := locked[outcome]
				noCardAtEnd := map[string]final{
					"pause":          {store.StateLockedTrialEnded, "without a card, so the plan is paused."},
					"cancel":         {store.StateLockedCanceled, "Your S subscription has ended."},
					"create_invoice": {store.StatePastDue, "State         payment due, no card to charge"},
				}[behavior]
				noCardFinal := noCardAtEnd
				if behavior == "create_invoice" && outcome != "past_due" {
					noCardFinal = retried
				}

				noCardKey, cardKey := portaltest.NewKey(t), portaltest.NewKey(t)
				nc := signUp(t, p, noCardKey, "nocard@example.com", "2")
				fc := signUp(t, p, cardKey, "failing@example.com", "3")
				saveCard(t, p, fc, declining)
				fc.WaitFor(t, "trial, card on file")

				// From here on, no key is pressed: the sessions follow Stripe.
				advance(t, p, 30*day+time.Hour)
				nc.WaitFor(t, noCardAtEnd.text)
				fc.WaitFor(t, "State         payment failed, retrying")
				if a := account(t, p, noCardKey); a.State != noCardAtEnd.state {
					t.Fatalf("no card, at the trial end: %s, want %s", a.State, noCardAtEnd.state)
				}

				advance(t, p, 4*day) // both retries are due within 3 days
				for _, c := range []struct {
					name string
					s    *portaltest.Session
					key  ssh.Signer
					want final
				}{{"no card", nc, noCardKey, noCardFinal}, {"failing card", fc, cardKey, retried}} {
					c.s.WaitFor(t, c.want.text)
					a := waitRetriesOver(t, p, c.key)
					if a.State != c.want.state {
						t.Errorf("%s: ends %s, want %s\n%s", c.name, a.State, c.want.state, c.s.Screen())
					}
					if c.want.state == store.StatePastDue {
						c.s.WaitFor(t, c.want.text) // still, after the last retry
						c.s.WaitGone(t, "locked")
						if !a.RetriesOver {
							t.Errorf("%s: past due after the last retry, but RetriesOver is false", c.name)
						}
					}
				}
			})
		}
	}
}

// waitRetriesOver waits until Stripe (the sandbox) will try the account's
// latest invoice no more (paid, or no next attempt) and the account has
// caught up with its subscription's status, and returns the account.
func waitRetriesOver(t *testing.T, p *portaltest.Portal, key ssh.Signer) store.Account {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := account(t, p, key)
		sub := subscription(t, p, a.SubscriptionID)
		done := sub.Status == stripe.SubscriptionStatus(a.SubscriptionStatus)
		if inv := sub.LatestInvoice; done && inv != nil && inv.ID != "" {
			var full stripe.Invoice
			stripeGet(t, p, "invoices/"+inv.ID, &full)
			done = full.Status != stripe.InvoiceStatusOpen || full.NextPaymentAttempt == 0
		}
		if done {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("retries never ended: account %s/%s, Stripe %s", a.State, a.SubscriptionStatus, sub.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
