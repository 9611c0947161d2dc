package tui_test

import (
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
)

// Billing that stays true in every Stripe configuration, end to end through
// the real SSH server and the sandbox's hosted pages.

// A trial canceled before its end (x, y) keeps counting down, then ends at
// the trial end on Free with nothing charged, with a card and without one;
// the open session shows it without a key press.
func TestJourneyTrialCanceledEndsInFree(t *testing.T) {
	t.Parallel()
	for _, withCard := range []bool{false, true} {
		name := "no card"
		if withCard {
			name = "card"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := portaltest.Start(t)
			key := portaltest.NewKey(t)
			s := signUp(t, p, key, "trialcancel@example.com", "2")
			s.WaitFor(t, "30 days left")
			if withCard {
				s.Type("c")
				payCheckout(t, p, s)
				s.WaitFor(t, "Card saved: Visa •••• 4242")
				s.Type("enter")
				s.WaitFor(t, "trial, card on file")
			}
			s.Type("x")
			s.WaitFor(t, "Cancel at the end of your trial? (y/n)")
			s.Type("y")
			s.WaitFor(t, "State         trial until it ends, then Free")
			s.WaitFor(t, "30 days left")
			advance(t, p, 20*day)
			s.WaitFor(t, "10 days left") // still counting down
			s.WaitFor(t, "u  Undo the cancellation and keep S")

			advance(t, p, 10*day+time.Hour)
			s.WaitFor(t, "State         free") // by itself
			s.WaitFor(t, "Plan          Free")
			s.WaitGone(t, "locked")
			a := account(t, p, key)
			if a.State != store.StateFree || a.Plan != "free" || a.SubscriptionStatus != "canceled" {
				t.Errorf("account after the canceled trial: %s %s %s", a.State, a.Plan, a.SubscriptionStatus)
			}
			for _, inv := range allInvoices(t, p, a.CustomerID) {
				if inv.AmountDue != 0 {
					t.Errorf("a canceled trial was invoiced %d cents (%s, %s)", inv.AmountDue, inv.BillingReason, inv.Status)
				}
			}
		})
	}
}
