package billing

import (
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

func TestPaidAtAndConversion(t *testing.T) {
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	trial := store.Account{TrialUsed: true, TrialEnd: end}
	for _, c := range []struct {
		name            string
		a               store.Account
		paid            time.Time
		last, converted time.Time
	}{
		{"before the trial end", trial, end.Add(-time.Hour), end.Add(-time.Hour), time.Time{}},
		{"at the trial end", trial, end, end, end},
		{"later", trial, end.Add(30 * 24 * time.Hour), end.Add(30 * 24 * time.Hour), end.Add(30 * 24 * time.Hour)},
		{"no trial", store.Account{}, end, end, time.Time{}},
		{"converted stays", store.Account{TrialUsed: true, TrialEnd: end, ConvertedAt: end, LastPaidAt: end}, end.Add(time.Hour), end.Add(time.Hour), end},
		{"an older event", store.Account{TrialUsed: true, TrialEnd: end, LastPaidAt: end.Add(time.Hour)}, end.Add(-time.Hour), end.Add(time.Hour), end.Add(time.Hour)},
	} {
		a := c.a
		paidAt(c.paid)(&a)
		noteConversion(&a)
		if !a.LastPaidAt.Equal(c.last) || !a.ConvertedAt.Equal(c.converted) {
			t.Errorf("%s: last paid %s converted %s, want %s %s", c.name, a.LastPaidAt, a.ConvertedAt, c.last, c.converted)
		}
	}
}

func TestDeriveKeepsThePaymentMethodID(t *testing.T) {
	prev := store.Account{ID: "acc_1", Plan: "m", SubscriptionID: "sub_1", HasCard: true, CardBrand: "visa", CardLast4: "4242", PaymentMethodID: "pm_old"}
	snap := &Snapshot{ID: "sub_1", Status: stripe.SubscriptionStatusActive, PlanID: "m", CatalogPrice: true}
	if got := Derive(prev, snap); got.PaymentMethodID != "pm_old" {
		t.Errorf("card not visible: pm %q, want pm_old", got.PaymentMethodID)
	}
	snap.setCard(&stripe.PaymentMethod{ID: "pm_new", Card: &stripe.PaymentMethodCard{Brand: "visa", Last4: "4242"}})
	got := Derive(prev, snap)
	if got.PaymentMethodID != "pm_new" || !got.NewCardSince(prev) {
		t.Errorf("same card entered again: pm %q, new card %v", got.PaymentMethodID, got.NewCardSince(prev))
	}
	none := &Snapshot{ID: "sub_1", Status: stripe.SubscriptionStatusActive, PlanID: "m", CatalogPrice: true}
	none.setCard(nil)
	if got := Derive(prev, none); got.HasCard || got.PaymentMethodID != "" {
		t.Errorf("no card: %v %q", got.HasCard, got.PaymentMethodID)
	}
}
