package tui_test

import (
	"context"
	"testing"

	"github.com/portal/portal/store"
)

// The plan a Checkout link sells is the one its screen names (issue 12,
// failure 4): with the trial used, one session of the account reads
// "Start M with a card", another then asks for XL (which expires the first
// link at Stripe); the first screen's fresh link still sells M, and paying
// it puts the account on M, not on the last plan anyone chose.
func TestJourneyCheckoutSellsThePlanOnScreen(t *testing.T) {
	t.Parallel()
	p, key, a := newJourney(t, "planonscreen@example.com", "2")
	id := account(t, p, key).ID
	if _, err := p.App.Billing().ChoosePlan(context.Background(), id, "free"); err != nil {
		t.Fatal(err)
	}
	a.WaitFor(t, "State         free")
	chooseWithCard(t, a, "3", "M")
	b := p.Connect(t, key, wide)
	b.WaitFor(t, "State         free")
	chooseWithCard(t, b, "4", "XL")

	a.WaitFor(t, "This link has expired.") // no key pressed
	a.WaitFor(t, "Start M with a card")
	a.Type("n")
	payCheckout(t, p, a)
	a.WaitFor(t, "M is active.")
	if acct := account(t, p, key); acct.Plan != "m" || acct.State != store.StateActive {
		t.Fatalf("the screen sold M, the account has %s (%s)", acct.Plan, acct.State)
	}
	if sub := subscription(t, p, account(t, p, key).SubscriptionID); lookupKey(sub) != "portal_m_monthly" {
		t.Fatalf("Stripe bills %q for a link that read M", lookupKey(sub))
	}
}
