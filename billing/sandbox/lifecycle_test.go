package sandbox

import (
	"errors"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
)

func TestCardlessTrialPausesAtEnd(t *testing.T) {
	e := newEnv(t)
	_, _, sub := e.trialOn("a@example.com", "plan_s", "pause")
	if sub.Status != stripe.SubscriptionStatusTrialing {
		t.Fatalf("status %s, want trialing", sub.Status)
	}
	if sub.LatestInvoice == nil || sub.LatestInvoice.BillingReason != stripe.InvoiceBillingReasonSubscriptionCreate ||
		sub.LatestInvoice.AmountPaid != 0 || sub.LatestInvoice.Status != stripe.InvoiceStatusPaid {
		t.Fatalf("trial start invoice: %+v", sub.LatestInvoice)
	}
	if got := sub.TrialEnd - sub.TrialStart; got != 30*86400 {
		t.Fatalf("trial length %d", got)
	}
	if sub.TrialSettings.EndBehavior.MissingPaymentMethod != "pause" {
		t.Fatalf("trial settings %+v", sub.TrialSettings.EndBehavior)
	}
	e.rc.waitFor("customer.subscription.created", sub.ID)
	e.rc.waitFor("invoice.paid", "")

	e.advance(27*24*time.Hour + time.Minute)
	e.rc.waitFor("customer.subscription.trial_will_end", sub.ID)
	if s := e.getSub(sub.ID); s.Status != stripe.SubscriptionStatusTrialing {
		t.Fatalf("after 27d: %s", s.Status)
	}
	e.advance(3 * 24 * time.Hour)
	got := e.getSub(sub.ID)
	if got.Status != stripe.SubscriptionStatusPaused {
		t.Fatalf("after trial end: %s, want paused", got.Status)
	}
	e.rc.waitFor("customer.subscription.paused", sub.ID)
	ev := e.rc.waitFor("customer.subscription.updated", sub.ID)
	if ev.Data.PreviousAttributes["status"] != "trialing" {
		t.Fatalf("previous_attributes %v", ev.Data.PreviousAttributes)
	}
	if ev.APIVersion != "2023-10-16" || ev.Livemode {
		t.Fatalf("event envelope %+v", ev)
	}
}

func TestPausedTrialResumesWithCard(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("b@example.com", "plan_m", "pause")
	e.advance(31 * 24 * time.Hour)
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusPaused)

	pm := e.setupCard(cus, sub.ID, "4242424242424242")
	got := e.getSub(sub.ID)
	if got.DefaultPaymentMethod != nil || got.Customer.InvoiceSettings.DefaultPaymentMethod.ID != pm {
		t.Fatalf("defaults: sub %v, customer %v", got.DefaultPaymentMethod, got.Customer.InvoiceSettings.DefaultPaymentMethod)
	}
	if got.Customer.InvoiceSettings.DefaultPaymentMethod.Card.Brand != "visa" {
		t.Fatalf("card %+v", got.Customer.InvoiceSettings.DefaultPaymentMethod.Card)
	}
	rs, err := e.sc.Subscriptions.Resume(sub.ID, &stripe.SubscriptionResumeParams{BillingCycleAnchor: stripe.String("now"), ProrationBehavior: stripe.String("none")})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, rs, stripe.SubscriptionStatusActive)
	e.rc.waitFor("customer.subscription.resumed", sub.ID)
	got = e.getSub(sub.ID)
	if got.LatestInvoice.Status != stripe.InvoiceStatusPaid || got.LatestInvoice.AmountPaid != 2900 {
		t.Fatalf("resume invoice %+v", got.LatestInvoice)
	}
	if _, err := e.sc.Subscriptions.Resume(sub.ID, &stripe.SubscriptionResumeParams{BillingCycleAnchor: stripe.String("now")}); err == nil {
		t.Fatal("resuming an active subscription succeeded")
	}
}

func TestTrialWithCardConvertsAndRenews(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("c@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4242 4242 4242 4242")
	got := e.pastTrial(sub.ID, stripe.SubscriptionStatusActive)
	if got.LatestInvoice.BillingReason != stripe.InvoiceBillingReasonSubscriptionCycle || !got.LatestInvoice.Paid || got.LatestInvoice.AmountPaid != 900 {
		t.Fatalf("conversion invoice %+v", got.LatestInvoice)
	}
	firstEnd := got.CurrentPeriodEnd
	e.advance(32 * 24 * time.Hour)
	got = e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusActive)
	if got.CurrentPeriodStart != firstEnd {
		t.Fatalf("renewal period starts %d, want %d", got.CurrentPeriodStart, firstEnd)
	}
	invs := e.invoices(sub.ID)
	if len(invs) != 3 {
		t.Fatalf("%d invoices, want 3 ($0 trial, conversion, renewal)", len(invs))
	}
	for _, inv := range invs {
		if inv.Status != stripe.InvoiceStatusPaid {
			t.Fatalf("invoice %s is %s", inv.ID, inv.Status)
		}
	}
	ev := e.rc.waitFor("invoice.paid", got.LatestInvoice.ID)
	if ev.Data.Object["billing_reason"] != "subscription_cycle" {
		t.Fatalf("event object %v", ev.Data.Object["billing_reason"])
	}
}

func TestTrialEndWithoutCard(t *testing.T) {
	for _, tc := range []struct {
		behavior string
		want     stripe.SubscriptionStatus
		event    string
	}{
		{"cancel", stripe.SubscriptionStatusCanceled, "customer.subscription.deleted"},
		{"create_invoice", stripe.SubscriptionStatusPastDue, "invoice.payment_failed"},
	} {
		t.Run(tc.behavior, func(t *testing.T) {
			e := newEnv(t)
			_, _, sub := e.trialOn("d@example.com", "plan_s", tc.behavior)
			got := e.pastTrial(sub.ID, tc.want)
			e.rc.waitFor(tc.event, "")
			if tc.behavior == "create_invoice" && got.LatestInvoice.Status != stripe.InvoiceStatusOpen {
				t.Fatalf("invoice %s", got.LatestInvoice.Status)
			}
		})
	}
}

func TestFailingCardRetriesThenUnpaidThenPaid(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("e@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4000000000000341")
	got := e.pastTrial(sub.ID, stripe.SubscriptionStatusPastDue)
	inv := got.LatestInvoice
	if inv.Status != stripe.InvoiceStatusOpen || inv.AttemptCount != 1 || inv.NextPaymentAttempt == 0 {
		t.Fatalf("after first failure: %+v", inv)
	}
	e.rc.waitFor("invoice.payment_failed", inv.ID)
	e.advance(2*24*time.Hour + time.Second)
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusPastDue)
	e.advance(3*24*time.Hour + time.Second)
	got = e.getSub(sub.ID)
	wantStatus(t, got, stripe.SubscriptionStatusUnpaid)
	if got.LatestInvoice.AttemptCount != 3 || got.LatestInvoice.NextPaymentAttempt != 0 {
		t.Fatalf("after retries: attempts %d next %d", got.LatestInvoice.AttemptCount, got.LatestInvoice.NextPaymentAttempt)
	}

	// Paying with the failing card is a card error.
	_, err := e.sc.Invoices.Pay(inv.ID, &stripe.InvoicePayParams{})
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || se.Code != stripe.ErrorCodeCardDeclined {
		t.Fatalf("pay with failing card: %v", err)
	}
	// Fix the card: the open invoice gets paid and the subscription is active.
	good := e.setupCard(cus, sub.ID, "4242424242424242")
	paid, err := e.sc.Invoices.Pay(inv.ID, &stripe.InvoicePayParams{PaymentMethod: stripe.String(good)})
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != stripe.InvoiceStatusPaid {
		t.Fatalf("invoice %s", paid.Status)
	}
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusActive)
	if _, err := e.sc.Invoices.Pay(inv.ID, &stripe.InvoicePayParams{}); err == nil {
		t.Fatal("paying a paid invoice succeeded")
	}
}

func TestFailedPaymentOutcomeCanceled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.FailedPaymentOutcome = "canceled" })
	_, cus, sub := e.trialOn("f@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4000000000000341")
	e.advance(40 * 24 * time.Hour)
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusCanceled)
	e.rc.waitFor("customer.subscription.deleted", sub.ID)
}

func TestResumeWithFailingCardGoesPastDue(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("g@example.com", "plan_s", "pause")
	e.advance(31 * 24 * time.Hour)
	e.setupCard(cus, sub.ID, "4000000000000341")
	rs, err := e.sc.Subscriptions.Resume(sub.ID, &stripe.SubscriptionResumeParams{BillingCycleAnchor: stripe.String("now")})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, rs, stripe.SubscriptionStatusPastDue)
}

func TestPlanChangePreviewAndProration(t *testing.T) {
	e := newEnv(t)
	prices, cus, sub := e.trialOn("h@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4242424242424242")
	// During the trial a switch is free.
	up, err := e.sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{ProrationBehavior: stripe.String("none"),
		Items: []*stripe.SubscriptionItemsParams{{ID: stripe.String(sub.Items.Data[0].ID), Price: stripe.String(prices["plan_m"].ID)}}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Items.Data[0].Price.ID != prices["plan_m"].ID || up.Status != stripe.SubscriptionStatusTrialing {
		t.Fatalf("after switch: %s %s", up.Items.Data[0].Price.ID, up.Status)
	}
	e.advance(45 * 24 * time.Hour) // active, half-way through the first paid month
	cur := e.getSub(sub.ID)
	wantStatus(t, cur, stripe.SubscriptionStatusActive)

	prev, err := e.sc.Invoices.Upcoming(&stripe.InvoiceUpcomingParams{Customer: stripe.String(cus.ID), Subscription: stripe.String(sub.ID),
		SubscriptionItems:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(cur.Items.Data[0].ID), Price: stripe.String(prices["plan_xl"].ID)}},
		SubscriptionProrationBehavior: stripe.String("always_invoice"), SubscriptionProrationDate: stripe.Int64(e.sb.Now().Unix())})
	if err != nil {
		t.Fatal(err)
	}
	var prorated int64
	for _, l := range prev.Lines.Data {
		if l.Proration {
			prorated += l.Amount
		}
	}
	if prorated <= 0 || prorated >= 9900-2900 {
		t.Fatalf("proration %d out of range; lines %d", prorated, len(prev.Lines.Data))
	}
	p := &stripe.SubscriptionParams{ProrationBehavior: stripe.String("always_invoice"), PaymentBehavior: stripe.String("pending_if_incomplete"),
		Items: []*stripe.SubscriptionItemsParams{{ID: stripe.String(cur.Items.Data[0].ID), Price: stripe.String(prices["plan_xl"].ID)}}}
	p.AddExpand("latest_invoice")
	done, err := e.sc.Subscriptions.Update(sub.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if done.Items.Data[0].Price.ID != prices["plan_xl"].ID || done.LatestInvoice.BillingReason != stripe.InvoiceBillingReasonSubscriptionUpdate ||
		!done.LatestInvoice.Paid || done.LatestInvoice.AmountPaid != prorated {
		t.Fatalf("upgrade: price %s invoice %+v (preview %d)", done.Items.Data[0].Price.ID, done.LatestInvoice, prorated)
	}
	// pending_if_incomplete refuses other parameters, as Stripe does.
	bad := &stripe.SubscriptionParams{PaymentBehavior: stripe.String("pending_if_incomplete"), CancelAtPeriodEnd: stripe.Bool(true)}
	if _, err := e.sc.Subscriptions.Update(sub.ID, bad); err == nil {
		t.Fatal("pending_if_incomplete with cancel_at_period_end succeeded")
	}
}

func TestPendingIfIncompleteKeepsOldPlanOnFailure(t *testing.T) {
	e := newEnv(t)
	prices, cus, sub := e.trialOn("i@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4242424242424242")
	e.advance(31 * 24 * time.Hour)
	e.setupCard(cus, sub.ID, "4000000000000341")
	cur := e.getSub(sub.ID)
	done, err := e.sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{ProrationBehavior: stripe.String("always_invoice"),
		PaymentBehavior: stripe.String("pending_if_incomplete"),
		Items:           []*stripe.SubscriptionItemsParams{{ID: stripe.String(cur.Items.Data[0].ID), Price: stripe.String(prices["plan_xl"].ID)}}})
	if err != nil {
		t.Fatal(err)
	}
	if done.Items.Data[0].Price.ID != prices["plan_s"].ID || done.PendingUpdate == nil || done.Status != stripe.SubscriptionStatusActive {
		t.Fatalf("failed upgrade: price %s pending %+v status %s", done.Items.Data[0].Price.ID, done.PendingUpdate, done.Status)
	}
	// The pending update expires after 23 hours: pending_update_expired,
	// and customer.subscription.updated alongside (pending_update → null).
	e.advance(24 * time.Hour)
	e.rc.waitFor("customer.subscription.pending_update_expired", sub.ID)
	e.rc.waitMatch("customer.subscription.updated", sub.ID, func(ev stripe.Event) bool {
		_, had := ev.Data.PreviousAttributes["pending_update"]
		return had && ev.Data.Object["pending_update"] == nil
	})
	if got := e.getSub(sub.ID); got.PendingUpdate != nil || got.Items.Data[0].Price.ID != prices["plan_s"].ID {
		t.Fatalf("after the pending update expired: pending %+v price %s", got.PendingUpdate, got.Items.Data[0].Price.ID)
	}
}

func TestCancelAtPeriodEndAndCancelNow(t *testing.T) {
	e := newEnv(t)
	prices, cus, sub := e.trialOn("j@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4242424242424242")
	e.advance(31 * 24 * time.Hour)
	up, err := e.sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !up.CancelAtPeriodEnd || up.CancelAt != up.CurrentPeriodEnd {
		t.Fatalf("cancel_at_period_end %v cancel_at %d", up.CancelAtPeriodEnd, up.CancelAt)
	}
	e.rc.waitMatch("customer.subscription.updated", sub.ID, func(ev stripe.Event) bool {
		return ev.Data.PreviousAttributes["cancel_at_period_end"] == false && ev.Data.Object["cancel_at_period_end"] == true
	})
	e.advance(31 * 24 * time.Hour)
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusCanceled)
	e.rc.waitFor("customer.subscription.deleted", sub.ID)
	if len(e.invoices(sub.ID)) != 2 {
		t.Fatal("a canceled-at-period-end subscription was billed again")
	}

	other := e.trial(e.customer("k@example.com"), prices["plan_m"], "pause")
	c, err := e.sc.Subscriptions.Cancel(other.ID, &stripe.SubscriptionCancelParams{})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c, stripe.SubscriptionStatusCanceled)
	list := e.sc.Subscriptions.List(&stripe.SubscriptionListParams{Customer: stripe.String(c.Customer.ID), Status: stripe.String("all")})
	n := 0
	for list.Next() {
		n++
	}
	if n != 1 || list.Err() != nil {
		t.Fatalf("list all: %d %v", n, list.Err())
	}
}

// A trialing subscription's current period ends at its trial end, so
// cancel_at_period_end during a trial cancels it there, with or without a
// card and whatever the end behaviour: customer.subscription.deleted, no
// paid period, no invoice beyond the trial's $0 one (Stripe's documented
// behaviour; the sandbox charged a month, or paused a cardless trial).
func TestTrialCanceledAtPeriodEndEndsAtTrialEnd(t *testing.T) {
	for _, tc := range []struct {
		name, behavior, card string
	}{
		{"card", "pause", "4242424242424242"},
		{"no card, pause", "pause", ""},
		{"no card, create_invoice", "create_invoice", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, cus, sub := e.trialOn("trialcancel@example.com", "plan_s", tc.behavior)
			if tc.card != "" {
				e.setupCard(cus, sub.ID, tc.card)
			}
			up, err := e.sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if up.CancelAt != up.TrialEnd || up.CurrentPeriodEnd != up.TrialEnd {
				t.Fatalf("cancel_at %d, period end %d, trial end %d", up.CancelAt, up.CurrentPeriodEnd, up.TrialEnd)
			}
			got := e.pastTrial(sub.ID, stripe.SubscriptionStatusCanceled)
			if got.EndedAt != got.TrialEnd || got.CancellationDetails == nil || got.CancellationDetails.Reason != "cancellation_requested" {
				t.Fatalf("ended %d (trial end %d), details %+v", got.EndedAt, got.TrialEnd, got.CancellationDetails)
			}
			e.rc.waitFor("customer.subscription.deleted", sub.ID)
			if invs := e.invoices(sub.ID); len(invs) != 1 || invs[0].AmountDue != 0 {
				t.Fatalf("invoices after a canceled trial: %d, want only the trial's $0 one", len(invs))
			}
		})
	}
}
