package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// jpyPrice creates a monthly price of amount yen (a zero-decimal currency:
// 1000 is ¥1,000).
func (e *env) jpyPrice(name string, amount int64) *stripe.Price {
	e.t.Helper()
	prod, err := e.sc.Products.New(&stripe.ProductParams{Name: stripe.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	pr, err := e.sc.Prices.New(&stripe.PriceParams{Product: stripe.String(prod.ID), Currency: stripe.String("jpy"),
		UnitAmount: stripe.Int64(amount), Recurring: &stripe.PriceRecurringParams{Interval: stripe.String("month")}})
	if err != nil {
		e.t.Fatal(err)
	}
	return pr
}

func wantIn(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

// Every hosted page writes a zero-decimal currency in whole units (¥1,000,
// not 10.00 jpy) with the sandbox's own defaults, as Stripe's pages do: the
// Checkout page, the billing page, the invoice page, its PDF and the
// invoice line Stripe describes ("1 × plan (at ¥1,000 / month)").
func TestHostedPagesWriteZeroDecimalCurrencies(t *testing.T) {
	e := newEnv(t)
	pr := e.jpyPrice("Plan JP", 1000)
	cus := e.customer("yen@example.com")
	cs, err := e.sc.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("subscription"), Customer: stripe.String(cus.ID),
		SuccessURL: stripe.String("http://portal.test/ok"), LineItems: []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(pr.ID), Quantity: stripe.Int64(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := getPage(t, cs.URL)
	wantIn(t, "checkout page", body, "Plan JP — ¥1,000/month")
	if resp, body := e.submitCard(cs.URL, "4242424242424242"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout submit: %d\n%s", resp.StatusCode, body)
	}
	e.rc.waitFor("checkout.session.completed", cs.ID)
	got, err := e.sc.CheckoutSessions.Get(cs.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	invs := e.invoices(got.Subscription.ID)
	if len(invs) != 1 || invs[0].Total != 1000 {
		t.Fatalf("invoices %+v", invs)
	}
	inv := invs[0]
	if d := inv.Lines.Data[0].Description; d != "1 × Plan JP (at ¥1,000 / month)" {
		t.Errorf("line description %q", d)
	}
	_, body, _ = getPage(t, inv.HostedInvoiceURL)
	wantIn(t, "invoice page", body, `id="invoice-total">¥1,000<`, "(at ¥1,000 / month)")
	_, pdf, _ := getPage(t, inv.InvoicePDF)
	wantIn(t, "invoice PDF", pdf, "Total: JPY 1,000")
	ps, err := e.sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String(cus.ID)})
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ = getPage(t, ps.URL)
	wantIn(t, "billing page", body, "Plan JP — ¥1,000/month", ">¥1,000<")
	if strings.Contains(body, "10.00") || strings.Contains(body, "jpy") {
		t.Errorf("the billing page writes yen as hundredths:\n%s", body)
	}
}

// A credit (a negative amount: the unused time of a plan canceled now with
// a prorated refund) reads -$x.xx on the invoice page and its PDF, not the
// "-4.-50 usd" of a formatter that divides a negative number.
func TestHostedInvoicePageWritesCredits(t *testing.T) {
	e := newEnv(t)
	prices := e.catalog()
	cus := e.customer("credit@example.com")
	e.setupCard(cus, "", "4242424242424242")
	sub, err := e.sc.Subscriptions.New(&stripe.SubscriptionParams{Customer: stripe.String(cus.ID),
		Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_m"].ID)}}})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, sub, stripe.SubscriptionStatusActive)
	e.advance(10 * 24 * time.Hour) // ten days into the month
	if _, err := e.sc.Subscriptions.Cancel(sub.ID, &stripe.SubscriptionCancelParams{Prorate: stripe.Bool(true), InvoiceNow: stripe.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	var credit *stripe.Invoice
	for _, inv := range e.invoices(sub.ID) {
		if inv.Total < 0 {
			credit = inv
		}
	}
	if credit == nil {
		t.Fatal("no credit invoice")
	}
	c := -credit.Total // written independently of the code under test
	want := fmt.Sprintf("-$%d.%02d", c/100, c%100)
	_, body, _ := getPage(t, credit.HostedInvoiceURL)
	wantIn(t, "invoice page", body, `id="invoice-total">`+want+`<`)
	_, pdf, _ := getPage(t, credit.InvoicePDF)
	wantIn(t, "invoice PDF", pdf, "Total: "+want)
}

// paymentFailures counts the invoice.payment_failed events about invoice id.
func (e *env) paymentFailures(id string) int {
	e.t.Helper()
	n := 0
	it := e.sc.Events.List(&stripe.EventListParams{Type: stripe.String("invoice.payment_failed")})
	for it.Next() {
		if it.Event().Data.Object["id"] == id {
			n++
		}
	}
	if err := it.Err(); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// Stripe does not retry an invoice when there is no payment method to
// charge: a trial that ends without a card under create_invoice fails its
// one attempt, shows no next_payment_attempt, is not charged again on the
// retry days, and gets the retry setting's outcome when the retry window
// would have ended (past_due until then, as before).
func TestNoRetriesWithoutAPaymentMethod(t *testing.T) {
	e := newEnv(t) // retries 2 and 3 days after a failure; outcome unpaid
	_, _, sub := e.trialOn("nocard@example.com", "plan_s", "create_invoice")
	got := e.pastTrial(sub.ID, stripe.SubscriptionStatusPastDue)
	inv := got.LatestInvoice
	if inv.Status != stripe.InvoiceStatusOpen || inv.AttemptCount != 1 || inv.NextPaymentAttempt != 0 {
		t.Fatalf("after the trial: invoice %s, %d attempts, next attempt %d; want open, 1, none", inv.Status, inv.AttemptCount, inv.NextPaymentAttempt)
	}
	e.advance(4 * 24 * time.Hour) // past both retry days but within the window (5 days)
	got = e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusPastDue)
	if n := got.LatestInvoice.AttemptCount; n != 1 {
		t.Errorf("%d attempts to charge nothing, want 1", n)
	}
	if n := e.paymentFailures(inv.ID); n != 1 {
		t.Errorf("%d invoice.payment_failed events, want 1", n)
	}
	e.advance(24*time.Hour + time.Second) // the window has ended
	got = e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusUnpaid)
	if got.LatestInvoice.AttemptCount != 1 || e.paymentFailures(inv.ID) != 1 {
		t.Errorf("at the outcome: %d attempts, %d failures", got.LatestInvoice.AttemptCount, e.paymentFailures(inv.ID))
	}
}

// threeDSecureRenewal is an S trial with the 3-D Secure card on file,
// renewed: the charge made without the customer asked for authentication
// (invoice.payment_action_required), so the subscription is past due and
// its latest invoice open.
func (e *env) threeDSecureRenewal(prices map[string]*stripe.Price, email string) (*stripe.Subscription, *stripe.Invoice) {
	e.t.Helper()
	cus := e.customer(email)
	sub := e.trial(cus, prices["plan_s"], "pause")
	e.setupCard(cus, sub.ID, "4000002760003184")
	got := e.pastTrial(sub.ID, stripe.SubscriptionStatusPastDue)
	inv := got.LatestInvoice
	e.rc.waitFor("invoice.payment_action_required", inv.ID)
	if inv.Status != stripe.InvoiceStatusOpen || inv.HostedInvoiceURL == "" {
		e.t.Fatalf("invoice %s url %q", inv.Status, inv.HostedInvoiceURL)
	}
	return sub, inv
}

// Stripe's hosted invoice page lets the customer pay an open invoice with a
// card: a renewal that asked for 3-D Secure (4000 0027 6000 3184 charged
// off-session: invoice.payment_action_required) is paid on the page, where
// the customer is present to authenticate, and the invoice is paid with
// invoice.paid, invoice.payment_succeeded and the subscription back to
// active delivered as webhooks. A declined card leaves it open; a paid
// invoice has no form to pay it again.
func TestHostedInvoicePagePaysAnOpenInvoice(t *testing.T) {
	e := newEnv(t)
	sub, inv := e.threeDSecureRenewal(e.catalog(), "threeds@example.com")

	code, body, _ := getPage(t, inv.HostedInvoiceURL)
	wantIn(t, "open invoice page", body, `<form method="post"`, `id="cardnumber"`, `id="pay"`, "Pay $9.00")
	if code != 200 {
		t.Fatalf("page: %d", code)
	}
	resp, body := e.submitCard(inv.HostedInvoiceURL, "4000000000000002")
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(body, "Your card was declined.") {
		t.Fatalf("declined card: %d\n%s", resp.StatusCode, body)
	}
	if again := e.getSub(sub.ID); again.LatestInvoice.Status != stripe.InvoiceStatusOpen || again.Status != stripe.SubscriptionStatusPastDue {
		t.Fatalf("after a declined card: invoice %s, subscription %s", again.LatestInvoice.Status, again.Status)
	}
	resp, body = e.submitCard(inv.HostedInvoiceURL, "4000002760003184")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("paying: %d\n%s", resp.StatusCode, body)
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || loc.String() != inv.HostedInvoiceURL {
		t.Fatalf("redirected to %v (%v), want the invoice page %s", loc, err, inv.HostedInvoiceURL)
	}
	e.rc.waitFor("invoice.paid", inv.ID)
	e.rc.waitFor("invoice.payment_succeeded", inv.ID)
	e.rc.waitMatch("customer.subscription.updated", sub.ID, func(ev stripe.Event) bool {
		return ev.Data.Object["status"] == "active" && ev.Data.PreviousAttributes["status"] == "past_due"
	})
	got := e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusActive)
	if got.LatestInvoice.ID != inv.ID || got.LatestInvoice.Status != stripe.InvoiceStatusPaid || got.LatestInvoice.AmountPaid != 900 {
		t.Fatalf("invoice after paying: %+v", got.LatestInvoice)
	}
	code, body, _ = getPage(t, inv.HostedInvoiceURL)
	if code != 200 || strings.Contains(body, `id="pay"`) || !strings.Contains(body, `id="invoice-status">Paid<`) {
		t.Fatalf("paid invoice page (%d):\n%s", code, body)
	}
	if resp, body := e.submitCard(inv.HostedInvoiceURL, "4242424242424242"); resp.StatusCode != http.StatusConflict {
		t.Fatalf("paying a paid invoice: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := e.submitCard(strings.TrimSuffix(inv.HostedInvoiceURL, inv.ID)+"in_nope", "4242424242424242"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("paying an unknown invoice: %d", resp.StatusCode)
	}
}

// An invoice with no card to charge (a trial ended under create_invoice)
// is paid on its page with a new card, and the subscription turns active.
func TestHostedInvoicePagePaysWithoutACardOnFile(t *testing.T) {
	e := newEnv(t)
	_, _, sub := e.trialOn("nocardpay@example.com", "plan_m", "create_invoice")
	e.advance(30*24*time.Hour + time.Second)
	inv := e.getSub(sub.ID).LatestInvoice
	if resp, body := e.submitCard(inv.HostedInvoiceURL, "4242424242424242"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("paying: %d\n%s", resp.StatusCode, body)
	}
	got := e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusActive)
	if got.LatestInvoice.Status != stripe.InvoiceStatusPaid || got.LatestInvoice.AmountPaid != 2900 {
		t.Fatalf("invoice %s paid %d", got.LatestInvoice.Status, got.LatestInvoice.AmountPaid)
	}
}

// A renewal whose card on file asked for 3-D Secure is completed on the
// hosted invoice page with that card (Stripe's page asks the customer to
// confirm it): paid, and the subscription active again. An invoice with no
// such card has nothing to confirm.
func TestHostedInvoicePageConfirmsThreeDSecure(t *testing.T) {
	e := newEnv(t)
	prices := e.catalog()
	sub, inv := e.threeDSecureRenewal(prices, "confirm@example.com")
	_, body, _ := getPage(t, inv.HostedInvoiceURL)
	wantIn(t, "invoice awaiting 3-D Secure", body, `id="confirm"`, "Confirm with visa •••• 3184")
	resp, err := noRedirect.PostForm(inv.HostedInvoiceURL, map[string][]string{"confirm": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirming: %d", resp.StatusCode)
	}
	e.rc.waitFor("invoice.paid", inv.ID)
	got := e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusActive)
	if got.LatestInvoice.Status != stripe.InvoiceStatusPaid || got.LatestInvoice.AmountPaid != 900 {
		t.Fatalf("invoice %s paid %d", got.LatestInvoice.Status, got.LatestInvoice.AmountPaid)
	}

	other := e.customer("noconfirm@example.com")
	osub := e.trial(other, prices["plan_s"], "create_invoice")
	e.advance(30*24*time.Hour + time.Second)
	oinv := e.getSub(osub.ID).LatestInvoice
	if _, body, _ := getPage(t, oinv.HostedInvoiceURL); strings.Contains(body, `id="confirm"`) {
		t.Errorf("an invoice without a card on file offers to confirm one:\n%s", body)
	}
	resp, err = noRedirect.PostForm(oinv.HostedInvoiceURL, map[string][]string{"confirm": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || e.getSub(osub.ID).LatestInvoice.Status != stripe.InvoiceStatusOpen {
		t.Fatalf("confirming without a card: %d", resp.StatusCode)
	}
}
