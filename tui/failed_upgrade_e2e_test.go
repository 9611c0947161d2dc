package tui_test

import (
	"strings"
	"testing"
	"time"
)

// A failed upgrade (issue 12, failure 5): the upgrade's invoice fails, so
// Stripe keeps the change pending and the account on its plan; the notice
// names the plan and amount of that invoice and no grace period; when
// Stripe lets the pending update expire (customer.subscription.
// pending_update_expired), "payment pending" ends at once in the open
// session, with no key pressed and no reconciler pass.
func TestJourneyFailedUpgradeExpires(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "upfail@example.com", "3")
	advance(t, p, time.Minute) // the add-card screen's own checkout, then a new one
	saveCard(t, p, s, declining)
	s.WaitFor(t, "Card          Visa •••• 0341")
	advance(t, p, 10*day)

	changePlan(t, s, "4", "› 3  M")
	s.WaitFor(t, "Press enter to confirm")
	s.Type("enter")
	s.WaitFor(t, "(payment pending)")
	s.WaitFor(t, "Plan          M · $29.00/month")
	s.WaitFor(t, "for your change to XL failed, so you stay on M.")
	a := account(t, p, key)
	if !a.PaymentPending || a.Plan != "m" {
		t.Fatalf("after the failed upgrade: plan %s pending %t", a.Plan, a.PaymentPending)
	}
	ns, err := p.App.Store().Notices(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var mail string
	for _, n := range ns {
		if n.Kind == "upgrade_failed" {
			mail = n.Message
		}
		if n.Kind == "payment_failed" {
			t.Errorf("the failed upgrade was announced as a failed payment of the plan: %q", n.Message)
		}
	}
	if !strings.Contains(mail, "change to XL failed, so you stay on M") || strings.Contains(strings.ToLower(mail), "grace") {
		t.Errorf("the failed upgrade's notice (mailed as is): %q", mail)
	}

	advance(t, p, day)               // Stripe expires a pending update after 23 hours
	s.WaitGone(t, "payment pending") // no key pressed
	s.WaitFor(t, "Plan          M · $29.00/month")
	waitProcessed(t, p, a.ID, "customer.subscription.pending_update_expired")
	if a := account(t, p, key); a.PaymentPending || a.Plan != "m" {
		t.Errorf("after the pending update expired: plan %s pending %t", a.Plan, a.PaymentPending)
	}
}
