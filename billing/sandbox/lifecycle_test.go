package sandbox

import (
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
)

func TestCardlessTrialPausesAtEnd(t *testing.T) {
	e := newEnv(t)
	prices := e.catalog()
	cus := e.customer("a@example.com")
	sub := e.trial(cus, prices["plan_s"], "pause")
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
