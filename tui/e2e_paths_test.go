package tui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// The billing issue's other paths, end to end through the real SSH server
// on the sandbox: a failing card that locks and is fixed, upgrade and
// downgrade, cancel at period end and undo. Each drives one open session
// and asserts what it shows, then checks Stripe's (the sandbox's) side.

// declining attaches on the checkout page, then every charge to it fails.
const declining = "4000000000000341"

// payCheckoutWith is payCheckout with another test card.
func payCheckoutWith(t *testing.T, p *portaltest.Portal, s *portaltest.Session, card string) {
	t.Helper()
	s.WaitFor(t, "Waiting for Stripe")
	raw := shownLink.FindString(s.Screen())
	if raw == "" {
		t.Fatalf("no checkout address on screen:\n%s", s.Screen())
	}
	resp := visit(t, p, raw)
	target := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.Contains(target, "/checkout/cs_") {
		t.Fatalf("short link %s answered %s, Location %q", raw, resp.Status, target)
	}
	payPage(t, p, target, card)
}

// noRedirect answers with a redirect instead of following it, so a test
// sees where a link leads and what a page answered.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// visit GETs raw (a public address) on the portal's listener as a browser
// would, without following a redirect; the answer's body is closed.
func visit(t *testing.T, p *portaltest.Portal, raw string) *http.Response {
	t.Helper()
	resp, err := noRedirect.Get(onListener(t, p, raw))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// postCard submits card on the hosted checkout page at target (the
// sandbox's) as a browser would, without following a redirect; the
// answer's body is closed.
func postCard(t *testing.T, p *portaltest.Portal, target, card string) *http.Response {
	t.Helper()
	resp, err := noRedirect.PostForm(onListener(t, p, target), url.Values{
		"cardnumber": {card}, "exp": {"12/34"}, "cvc": {"123"}, "name": {"Ada Lovelace"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// onListener points a public address at the portal's HTTP listener
// (PublicURL says localhost; the listener is 127.0.0.1).
func onListener(t *testing.T, p *portaltest.Portal, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = "http", p.App.HTTPAddr()
	return u.String()
}

// stripeGet reads path (under /v1) from the sandbox's API into out.
func stripeGet(t testing.TB, p *portaltest.Portal, path string, out any) {
	t.Helper()
	stripeDo(t, p, http.MethodGet, path, nil, out)
}

// stripePost posts form to path (under /v1) on the sandbox's API, decoding
// the answer into out (nil: discarded).
func stripePost(t testing.TB, p *portaltest.Portal, path string, form url.Values, out any) {
	t.Helper()
	stripeDo(t, p, http.MethodPost, path, form, out)
}

// stripeDo calls the sandbox's API over HTTP as the portal does, with its
// sandbox key, and decodes a 200 answer into out (nil: discarded).
func stripeDo(t testing.TB, p *portaltest.Portal, method, path string, form url.Values, out any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+p.App.HTTPAddr()+"/sandbox/v1/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.App.SandboxAPIKey())
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, b)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

func subscription(t *testing.T, p *portaltest.Portal, id string) *stripe.Subscription {
	t.Helper()
	var sub stripe.Subscription
	stripeGet(t, p, "subscriptions/"+url.PathEscape(id), &sub)
	return &sub
}

// webhooksDelivered waits until the sandbox has delivered every event it
// has emitted (Stripe's events?delivery_success=false lists those still
// pending), so a test can read the account knowing no webhook is in flight.
func webhooksDelivered(t testing.TB, p *portaltest.Portal) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a hang guard under load, not a timing assertion
	for {
		var list stripe.EventList
		stripeGet(t, p, "events?delivery_success=false&limit=1", &list)
		if len(list.Data) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s (%s) still undelivered", list.Data[0].ID, list.Data[0].Type)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allInvoices lists the customer's invoices in every status.
func allInvoices(t *testing.T, p *portaltest.Portal, customer string) []*stripe.Invoice {
	t.Helper()
	var list stripe.InvoiceList
	stripeGet(t, p, "invoices?limit=100&customer="+url.QueryEscape(customer), &list)
	return list.Data
}

// lookupKey is the lookup key of the subscription's (only) price.
func lookupKey(sub *stripe.Subscription) string {
	if sub.Items == nil || len(sub.Items.Data) != 1 || sub.Items.Data[0].Price == nil {
		return ""
	}
	return sub.Items.Data[0].Price.LookupKey
}

// shownDate is how the screens write a moment: "Tue 9 Dec 14:00 UTC".
func shownDate(unix int64) string { return time.Unix(unix, 0).UTC().Format("Mon 2 Jan 15:04 UTC") }

// shownDay is how the screens write a day: "Tue 9 Dec".
func shownDay(unix int64) string { return time.Unix(unix, 0).UTC().Format("Mon 2 Jan") }

// A trial with a card that declines: past due at trial end, locked unpaid
// once the retries run out, and active again by itself once the card is
// fixed and the open invoice paid.
func TestJourneyFailingCardLocksThenFixed(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "hal@example.com", "3")
	saveCard(t, p, s, declining) // it attaches; charges are what fail
	s.WaitFor(t, "trial, card on file")

	advance(t, p, 30*day+time.Hour) // the first charge fails at trial end
	s.WaitFor(t, "! A payment of $29.00 for your M plan failed. Please update your card.")
	s.WaitFor(t, "State         payment failed, retrying")
	s.WaitFor(t, "Amount due    $29.00\n")
	s.WaitFor(t, "c  Fix your card: the failed payment is tried again with it")

	advance(t, p, 5*day) // both retries (after 2 and 3 more days) fail
	s.WaitFor(t, "Your account is locked")
	s.WaitFor(t, "Your invoice of $29.00 for the M plan could not be paid, and Stripe has stopped retrying.")
	s.WaitFor(t, "› c  Fix your card: the open invoice is paid with it")
	cus := account(t, p, key).CustomerID
	if inv, ok := conversion(t, p, cus); ok {
		t.Fatalf("locked unpaid, yet a paid invoice beyond the trial's: %+v", inv)
	}

	s.Type("c")
	s.WaitFor(t, "Fix your card")
	payCheckout(t, p, s)
	s.WaitFor(t, "Card saved: Visa •••• 4242")
	s.WaitFor(t, "You are on M · $29.00/month (active).") // no key: the invoice's payment unlocks it
	s.Type("enter")
	s.WaitFor(t, "State         active\n")
	s.WaitFor(t, "Card          Visa •••• 4242")
	s.WaitGone(t, "payment")

	inv, ok := conversion(t, p, cus)
	switch {
	case !ok:
		t.Fatalf("active, but no paid invoice beyond the trial's $0 one: %+v", paidInvoices(t, p, cus))
	case inv.AmountPaid != 2900 || inv.BillingReason != stripe.InvoiceBillingReasonSubscriptionCycle:
		t.Errorf("the paid invoice: %d cents, reason %s; want the trial end's 2900, subscription_cycle", inv.AmountPaid, inv.BillingReason)
	case inv.AttemptCount < 4:
		t.Errorf("the paid invoice took %d attempts; want the three failed ones and the fixed card's", inv.AttemptCount)
	}
	if a := account(t, p, key); a.State != store.StateActive || a.SubscriptionStatus != "active" {
		t.Errorf("account after the fix: state %q, subscription %q", a.State, a.SubscriptionStatus)
	}
}

// dueNow is the preview's "Due now: $33.33 for the rest of this period."
var dueNow = regexp.MustCompile(`Due now: \$(\d+)\.(\d\d) for the rest of this period\.`)

// An active account upgrades M → XL (charged now for the rest of the
// period, as always_invoice does) and downgrades XL → S at the period end
// (the default -downgrade-at: a subscription schedule; nothing now, no
// proration), undoes that, schedules it again and sees the renewal move the
// account to S, invoiced at S's price.
func TestJourneyUpgradeThenDowngrade(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "ida@example.com", "3")
	a := account(t, p, key)
	advance(t, p, 10*day) // mid-period, so the upgrade is prorated

	changePlan(t, s, "4", "› 3  M", "[current]")
	s.WaitFor(t, "Press enter to confirm")
	m := dueNow.FindStringSubmatch(s.Screen())
	if m == nil {
		t.Fatalf("no amount due now in the upgrade's preview:\n%s", s.Screen())
	}
	dollars, _ := strconv.Atoi(m[1])
	cents, _ := strconv.Atoi(m[2])
	due := int64(dollars*100 + cents)
	if due <= 0 || due >= 7900-2900 {
		t.Errorf("upgrade due now %d cents; want a prorated part of the $50.00 difference", due)
	}
	sub := subscription(t, p, a.SubscriptionID)
	s.WaitFor(t, "Then $79.00/month from "+shownDay(sub.CurrentPeriodEnd)+".")
	s.Type("enter")
	s.WaitFor(t, "Plan          XL · $79.00/month")
	s.WaitFor(t, "State         active\n")
	s.WaitFor(t, "Next invoice  $79.00 on "+shownDay(sub.CurrentPeriodEnd))

	sub = subscription(t, p, a.SubscriptionID)
	if lookupKey(sub) != "portal_xl_monthly" || sub.Status != stripe.SubscriptionStatusActive {
		t.Errorf("after the upgrade Stripe has %s on %q", sub.Status, lookupKey(sub))
	}
	var upgrade *stripe.Invoice
	for _, inv := range paidInvoices(t, p, a.CustomerID) {
		if inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionUpdate {
			upgrade = inv
		}
	}
	// Exactly: the update passes the preview's proration date.
	if upgrade == nil || upgrade.AmountPaid != due {
		t.Errorf("the upgrade's paid invoice: %+v; want subscription_update for the %d cents shown", upgrade, due)
	}
	before := len(allInvoices(t, p, a.CustomerID))

	changePlan(t, s, "2", "› 4  XL", "[current]")
	s.WaitFor(t, "Press enter to confirm")
	s.WaitFor(t, "Due now: nothing. You keep XL · $79.00/month until "+shownDate(sub.CurrentPeriodEnd)+".")
	s.WaitFor(t, "Then S at $9.00/month. You can undo this until then.")
	s.Type("enter")
	until := time.Unix(sub.CurrentPeriodEnd, 0).UTC().Format("2 Jan")
	s.WaitFor(t, "Plan          XL until "+until+", then S · $9.00/month")
	s.WaitFor(t, "Next invoice  $9.00 on "+shownDay(sub.CurrentPeriodEnd))
	s.WaitFor(t, "u  Undo the change to S and keep XL")

	sub = subscription(t, p, a.SubscriptionID)
	if lookupKey(sub) != "portal_xl_monthly" || sub.Schedule == nil {
		t.Errorf("after the scheduled downgrade Stripe has %q, schedule %v; want XL until the period end", lookupKey(sub), sub.Schedule)
	}
	if invs := allInvoices(t, p, a.CustomerID); len(invs) != before {
		t.Errorf("the downgrade made %d invoices; want none (no proration)", len(invs)-before)
	}

	s.Type("u")
	s.WaitFor(t, "Plan          XL · $79.00/month")
	s.WaitFor(t, "Next invoice  $79.00 on "+shownDay(sub.CurrentPeriodEnd))
	if sub := subscription(t, p, a.SubscriptionID); sub.Schedule != nil {
		t.Errorf("after the undo the subscription keeps schedule %s", sub.Schedule.ID)
	}

	changePlan(t, s, "2", "› 4  XL")
	s.WaitFor(t, "You can undo this until then.")
	s.Type("enter")
	s.WaitFor(t, "Plan          XL until "+until+", then S · $9.00/month")
	end := sub.CurrentPeriodEnd
	advance(t, p, time.Unix(end, 0).Add(time.Hour).Sub(p.App.Sandbox().Now()))
	s.WaitFor(t, "Plan          S · $9.00/month") // no key: the renewal's webhook moves it

	sub = subscription(t, p, a.SubscriptionID)
	if lookupKey(sub) != "portal_s_monthly" || sub.Status != stripe.SubscriptionStatusActive {
		t.Errorf("after the period end Stripe has %s on %q", sub.Status, lookupKey(sub))
	}
	var renewal *stripe.Invoice
	for _, inv := range allInvoices(t, p, a.CustomerID) {
		if inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionCycle && inv.PeriodStart == end {
			renewal = inv
		}
	}
	if renewal == nil || renewal.AmountPaid != 900 {
		t.Errorf("the renewal at the period end: %+v; want $9.00 paid", renewal)
	}
	if a := account(t, p, key); a.Plan != "s" || a.NextInvoiceAmount != 900 || a.ScheduledPlan != "" {
		t.Errorf("account after the period end: plan %q, next invoice %d, scheduled %q", a.Plan, a.NextInvoiceAmount, a.ScheduledPlan)
	}
}

// An active account cancels at the period end, sees the end date and the
// undo, undoes, and is active again with nothing pending at Stripe.
func TestJourneyCancelAtPeriodEndThenUndo(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "jon@example.com", "3")
	a := account(t, p, key)
	end := subscription(t, p, a.SubscriptionID).CurrentPeriodEnd

	confirm(t, s, "x", "You keep M until the end of the current period, "+shownDate(end)+".", "Cancel at the end of the current period? (y/n)")
	s.WaitFor(t, "State         active until the end of the period, then Free")
	s.WaitFor(t, "Ends          "+shownDate(end)+", then Free")
	s.WaitFor(t, "u  Undo the cancellation and keep M")
	if sub := subscription(t, p, a.SubscriptionID); !sub.CancelAtPeriodEnd || sub.Status != stripe.SubscriptionStatusActive {
		t.Errorf("after cancel Stripe has %s, cancel_at_period_end %t", sub.Status, sub.CancelAtPeriodEnd)
	}

	s.Type("u")
	s.WaitFor(t, "State         active\n")
	s.WaitGone(t, "Ends  ")
	s.WaitGone(t, "Undo the cancellation")
	s.WaitFor(t, "Next invoice  $29.00 on "+shownDay(end))
	s.WaitFor(t, "x  Cancel at the end of the period")
	if sub := subscription(t, p, a.SubscriptionID); sub.CancelAtPeriodEnd || sub.Status != stripe.SubscriptionStatusActive || sub.CancelAt != 0 {
		t.Errorf("after undo Stripe has %s, cancel_at_period_end %t, cancel_at %d", sub.Status, sub.CancelAtPeriodEnd, sub.CancelAt)
	}
	if a := account(t, p, key); a.State != store.StateActive || a.CancelAtPeriodEnd {
		t.Errorf("account after undo: state %q, cancel at period end %t", a.State, a.CancelAtPeriodEnd)
	}
}

// Replacing a card with one of the same brand and last four digits (a
// renewed card, or the same card entered again) leaves the account looking
// as before; the screen still turns into "Card saved" once Stripe reports
// the checkout done, instead of waiting forever.
func TestJourneyReplaceCardWithTheSameCard(t *testing.T) {
	t.Parallel()
	p, _, s := newActiveJourney(t, "ida@example.com", "3")
	saveCard(t, p, s, visa, "Replace your card")
	s.WaitFor(t, "State         active\n")
}

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

// An open plan-change preview follows a move of the sandbox clock that
// changes nothing in the account (mid-period, no event falls due): the
// session's wake on the move fetches the preview again, well before the
// minute refresh, so the amount shown is the one that would be charged.
func TestClockMoveRefreshesOpenPreview(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "ivy@example.com", "3")
	advance(t, p, 10*day)
	s.WaitFor(t, "Next invoice") // the dashboard after the move

	changePlan(t, s, "4", "› 3  M")
	s.WaitFor(t, "Press enter to confirm")
	first := dueNow.FindString(s.Screen())
	if first == "" {
		t.Fatalf("no amount due now in the preview:\n%s", s.Screen())
	}
	webhooksDelivered(t, p) // the conversion's last webhooks may still be landing
	before := account(t, p, key)

	advance(t, p, 10*day)
	deadline := time.Now().Add(20 * time.Second) // well under the minute refresh under load
	for {
		scr := s.Screen()
		if now := dueNow.FindString(scr); now != "" && now != first {
			if !strings.Contains(scr, "Press enter to confirm") {
				t.Fatalf("the refreshed preview asks nothing:\n%s", scr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the preview still shows %q after the clock moved 10 days:\n%s", first, scr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := account(t, p, key); after.Version != before.Version {
		t.Errorf("the account changed during the move (version %d → %d): this test is about a move that changes nothing", before.Version, after.Version)
	}
}

// A downgrade scheduled for the period end that is then edited, and
// released, in Stripe's Dashboard: the open session follows each change by
// itself ("XL until 9 Jan, then S"; then XL alone), as
// subscription_schedule.updated and .released arrive.
func TestJourneyScheduleChangedAtStripe(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "dashboardsched@example.com", "4")

	changePlan(t, s, "3", "› 4  XL")
	s.WaitFor(t, "You can undo this until then.")
	s.Type("enter")
	s.WaitFor(t, ", then M · $29.00/month")
	a := account(t, p, key)
	until := a.ScheduledAt.UTC().Format("2 Jan")
	s.WaitFor(t, "Plan          XL until "+until+", then M · $29.00/month")

	// The Dashboard: S instead of M at the same date (no key pressed from here).
	sub := subscription(t, p, a.SubscriptionID)
	var sched stripe.SubscriptionSchedule
	stripeGet(t, p, "subscription_schedules/"+a.ScheduleID, &sched)
	stripePost(t, p, "subscription_schedules/"+a.ScheduleID, url.Values{
		"phases[0][items][0][price]": {sub.Items.Data[0].Price.ID}, "phases[0][items][0][quantity]": {"1"},
		"phases[0][start_date]":      {strconv.FormatInt(sched.CurrentPhase.StartDate, 10)},
		"phases[0][end_date]":        {strconv.FormatInt(sub.CurrentPeriodEnd, 10)},
		"phases[1][items][0][price]": {priceOf(t, p, "portal_s_monthly")}, "phases[1][items][0][quantity]": {"1"},
		"phases[1][iterations]": {"1"},
	}, &sched)
	s.WaitFor(t, "Plan          XL until "+until+", then S · $9.00/month")
	s.WaitFor(t, "Next invoice  $9.00 on "+shownDay(sub.CurrentPeriodEnd))
	s.WaitFor(t, "u  Undo the change to S and keep XL")

	// The Dashboard releases it.
	stripePost(t, p, "subscription_schedules/"+a.ScheduleID+"/release", url.Values{}, &sched)
	s.WaitFor(t, "Plan          XL · $79.00/month")
	s.WaitGone(t, "Undo the change")
	if a := account(t, p, key); a.ScheduleID != "" || a.ScheduledPlan != "" {
		t.Errorf("after the release: schedule %q, scheduled %q", a.ScheduleID, a.ScheduledPlan)
	}
}
