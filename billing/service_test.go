package billing

import (
	"context"
	"errors"
	"testing"

	"github.com/portal/portal/store"
)

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{900, "usd", "$9.00"},
		{900, "", "$9.00"},
		{5, "USD", "$0.05"},
		{-1250, "usd", "-$12.50"},
		{-1250, "eur", "-€12.50"},
		{1999, "eur", "€19.99"},
		{123456789, "usd", "$1,234,567.89"},
		{100000, "usd", "$1,000.00"},
		{99999, "usd", "$999.99"},
		{1200, "chf", "12.00 CHF"},
		{500, "jpy", "¥500"},
		{500, "JPY", "¥500"},
		{-300, "jpy", "-¥300"},
		{15000, "krw", "15,000 KRW"},
		{7, "xof", "7 XOF"},
		{0, "vnd", "0 VND"},
		{5120, "kwd", "5.120 KWD"},
	} {
		if got := FormatAmount(c.amount, c.currency); got != c.want {
			t.Errorf("FormatAmount(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}

// TestChoosePlanReleasesTrialClaim: a refused trial subscription frees the
// trial again; one whose outcome is unknown (Stripe did not answer) keeps
// it used.
func TestChoosePlanReleasesTrialClaim(t *testing.T) {
	fake := newFakeStripe()
	env := newWebhookEnv(t, fake, true)
	plan, _ := env.svc.cat.Plan("s")
	env.svc.prices[plan.LookupKey] = "price_s" // no price lookup: the fake does not list prices
	a := newAccount(t, env.db, "claim@example.com")
	if _, err := env.db.UpdateAccount(a.ID, func(acc *store.Account) error { acc.CustomerID = "cus_claim"; return nil }); err != nil {
		t.Fatal(err)
	}
	// The fake refuses subscription creation with a 400: nothing was created.
	if _, err := env.svc.ChoosePlan(context.Background(), a.ID, "s"); err == nil {
		t.Fatal("ChoosePlan on a refusing Stripe: no error")
	}
	if got, _ := env.db.Account(a.ID); got.TrialUsed {
		t.Fatal("refused subscription: trial still claimed")
	}
	// A 503: the subscription may exist; the claim stays.
	fake.failNext.Store(1)
	if _, err := env.svc.ChoosePlan(context.Background(), a.ID, "s"); err == nil {
		t.Fatal("ChoosePlan on an unavailable Stripe: no error")
	}
	if got, _ := env.db.Account(a.ID); !got.TrialUsed {
		t.Fatal("unknown outcome: trial claim released")
	}
	if _, err := env.svc.ChoosePlan(context.Background(), a.ID, "m"); !errors.Is(err, ErrCardRequired) {
		t.Fatalf("second trial: %v", err)
	}
}
