package tui_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/sshserver/cmd"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
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
			p, key, s := newJourney(t, "trialcancel@example.com", "2")
			if withCard {
				saveCard(t, p, s, visa)
				s.WaitFor(t, "trial, card on file")
			}
			confirm(t, s, "x", "Cancel at the end of your trial? (y/n)")
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

// priceOf is the sandbox's price id of the catalog plan with lookup key.
func priceOf(t *testing.T, p *portaltest.Portal, lookupKey string) string {
	t.Helper()
	var list stripe.PriceList
	stripeGet(t, p, "prices?lookup_keys[]="+url.QueryEscape(lookupKey), &list)
	if len(list.Data) != 1 {
		t.Fatalf("prices with lookup key %s: %d", lookupKey, len(list.Data))
	}
	return list.Data[0].ID
}

// A second subscription of the same customer (made in the Dashboard) never
// takes the account over: the session says what is happening, the account
// stays on its own trial, and when the second one ends nothing is locked.
func TestJourneySecondSubscriptionNeverTakesOver(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "second@example.com", "2")
	a := account(t, p, key)
	var second stripe.Subscription
	stripePost(t, p, "subscriptions", url.Values{
		"customer": {a.CustomerID}, "items[0][price]": {priceOf(t, p, "portal_m_monthly")}, "trial_period_days": {"7"},
		"trial_settings[end_behavior][missing_payment_method]": {"cancel"},
	}, &second)
	s.WaitFor(t, "Stripe has a second subscription (M) for this account. You stay on S") // no key pressed
	s.WaitFor(t, "Plan          S · $9.00/month")
	s.WaitFor(t, "State         trial, no card yet")

	advance(t, p, 7*day+time.Hour) // the second one's trial ends without a card: canceled
	s.WaitGone(t, "second subscription")
	s.WaitFor(t, "State         trial, no card yet")
	s.WaitFor(t, "22 days 23 hours left")
	if a := account(t, p, key); a.SubscriptionID == second.ID || a.Plan != "s" || a.State != store.StateTrial || a.SecondSubscriptionID != "" {
		t.Errorf("account after the second subscription ended: sub %s plan %s state %s second %q", a.SubscriptionID, a.Plan, a.State, a.SecondSubscriptionID)
	}
}

// payPage completes a hosted checkout page at target (the sandbox's, as a
// link's Target) with card, as a browser would.
func payPage(t *testing.T, p *portaltest.Portal, target, card string) {
	t.Helper()
	if resp := postCard(t, p, target, card); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout page answered %s", resp.Status)
	}
}

// The card on screen and in status --json is the card Stripe charges: on a
// subscription bought through Checkout (which carries its own default
// payment method), a replaced card is the one the renewal charges, and the
// card that fixes a failed payment is the one shown and charged after.
func TestJourneyCardShownIsCardCharged(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "charged@example.com", "2")
	// The trial used up, M is bought through Checkout in subscription mode.
	ctx := context.Background()
	b := p.App.Billing()
	id := account(t, p, key).ID
	if _, err := b.ChoosePlan(ctx, id, "free"); err != nil {
		t.Fatal(err)
	}
	s.WaitFor(t, "State         free")
	if _, err := b.ChoosePlan(ctx, id, "m"); !errors.Is(err, billing.ErrCardRequired) {
		t.Fatalf("M after the trial: %v", err)
	}
	link, err := b.CheckoutLink(ctx, id, "m")
	if err != nil {
		t.Fatal(err)
	}
	payPage(t, p, link.Target, "4242424242424242")
	s.WaitFor(t, "State         active\n")
	s.WaitFor(t, "Plan          M · $29.00/month")
	waitProcessed(t, p, id, "checkout.session.completed")
	// The add-card screen counts a checkout completed in the second it
	// opened as its own (tui's addCardScreen.checkoutDone): open it later.
	advance(t, p, time.Minute)

	saveCard(t, p, s, declining) // replace the card with one whose charges fail
	s.WaitFor(t, "Card          Visa •••• 0341")
	sub := subscription(t, p, account(t, p, key).SubscriptionID)
	if sub.DefaultPaymentMethod == nil || sub.DefaultPaymentMethod.ID == "" {
		t.Fatalf("the subscription lost its default payment method: %+v", sub.DefaultPaymentMethod)
	}
	advance(t, p, 31*day) // the renewal charges the card shown, which fails
	s.WaitFor(t, "State         payment failed, retrying")

	saveCard(t, p, s, visa)
	s.WaitFor(t, "State         active\n")
	s.WaitFor(t, "Card          Visa •••• 4242")
	out, code := p.Exec(t, key, "status --json")
	var st cmd.Status
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Card == nil || st.Card.Last4 != "4242" {
		t.Fatalf("status --json: exit %d, %v, %q", code, err, out)
	}
	advance(t, p, 31*day) // and the next renewal charges it
	s.WaitFor(t, "State         active\n")
	if a := account(t, p, key); a.State != store.StateActive || a.AmountDue != 0 || a.CardLast4 != "4242" {
		t.Errorf("after the next renewal: %s due %d card %s", a.State, a.AmountDue, a.CardLast4)
	}
}

// waitProcessed waits until an event of type typ for the account is processed.
func waitProcessed(t *testing.T, p *portaltest.Portal, id, typ string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs, err := p.App.Store().EventsForAccount(id, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Type == typ && e.Status == store.EventStatusProcessed {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no processed %s for %s", typ, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two Checkout links cannot both be paid: a second add-card screen of the
// account (another session) expires the first one's link at Stripe, and the
// first screen says so at once and offers a fresh link, which works.
func TestJourneyCheckoutLinkExpiredByNewer(t *testing.T) {
	t.Parallel()
	p, key, a := newJourney(t, "twolinks@example.com", "2")
	a.Type("c")
	a.WaitFor(t, "Waiting for Stripe")
	first := shownLink.FindString(a.Screen())

	b := p.Connect(t, key, wide)
	b.WaitFor(t, "30 days left")
	b.Type("c")
	b.WaitFor(t, "Waiting for Stripe")

	a.WaitFor(t, "This link has expired.") // no key pressed
	a.WaitFor(t, "Press n for a fresh one.")
	// The old page can no longer be paid.
	if target := visit(t, p, first).Header.Get("Location"); target != "" {
		if postCard(t, p, target, visa).StatusCode == http.StatusSeeOther {
			t.Fatal("the expired checkout page took a payment")
		}
	}
	a.Type("n")
	payCheckout(t, p, a)
	a.WaitFor(t, "Card saved: Visa •••• 4242")
	b.WaitFor(t, "Card saved: Visa •••• 4242") // the other session sees the result
}

// An operator's Stripe settings: trials that cancel without a card, and
// retries that leave the subscription past due. The canceled trial locks
// the open session by itself and re-subscribes through Checkout from the
// same screen.
func TestJourneyTrialEndBehaviorCancel(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "cancels@example.com", "2", portaltest.WithConfig(func(c *app.Config) {
		c.TrialEndBehavior, c.SandboxFailedPayment = "cancel", "past_due"
	}))
	advance(t, p, 30*day+time.Hour)
	s.WaitFor(t, "Your account is locked") // no key pressed
	a := account(t, p, key)
	if a.State != store.StateLockedCanceled || a.SubscriptionStatus != "canceled" {
		t.Fatalf("after a trial that cancels: %s %s", a.State, a.SubscriptionStatus)
	}
	s.WaitFor(t, "Your S subscription has ended.")
	chooseWithCard(t, s, "2", "S")
	payCheckout(t, p, s)
	// The plan bought by Checkout is said to be on, with what was paid.
	s.WaitFor(t, "S is active. You paid $9.00 for the first month.")
	s.WaitFor(t, "Card: Visa •••• 4242.")
	s.Type("enter")
	s.WaitFor(t, "State         active\n")
	s.WaitFor(t, "Plan          S · $9.00/month")
	a = account(t, p, key)
	if sub := subscription(t, p, a.SubscriptionID); sub.TrialEnd != 0 || sub.Status != stripe.SubscriptionStatusActive {
		t.Errorf("the new subscription: %s, trial end %d (a second trial?)", sub.Status, sub.TrialEnd)
	}
}

// A renewal whose card asks for 3-D Secure: the open session shows the
// invoice's page to confirm it by itself, and another card settles it.
func TestJourneyPaymentActionRequired(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "threeds@example.com", "2")
	saveCard(t, p, s, "4000002760003184")
	advance(t, p, 30*day+time.Hour)
	s.WaitFor(t, "Your bank asks you to confirm a payment: press o") // no key pressed
	a := account(t, p, key)
	s.Type("o")
	s.WaitFor(t, "Confirm your payment")
	if !strings.Contains(strings.ReplaceAll(s.Screen(), "\n", ""), a.ActionURL) || a.ActionURL == "" {
		t.Fatalf("the invoice page %q is not on screen:\n%s", a.ActionURL, s.Screen())
	}
	s.Type("esc")
	s.WaitFor(t, "Your bank asks you to confirm a payment")
	saveCard(t, p, s, visa)
	s.WaitFor(t, "State         active\n")
	s.WaitGone(t, "confirm a payment")
}

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

// With -ssh-command set (behind a load balancer), the keys screen's link
// instructions name that command, not the address the session came in on.
func TestLinkCodeNamesTheConfiguredSSHCommand(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) { c.SSHCommand = "ssh -p 2222 portal.example.com" }))
	key := portaltest.NewKey(t)
	customer(t, p, key, "lb@example.com", "free")
	s := p.Connect(t, key, wide)
	s.WaitFor(t, "Your account\n")
	code := linkCode(t, s)
	s.WaitFor(t, "ssh -p 2222 portal.example.com link "+code)
}
