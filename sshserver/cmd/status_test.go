package cmd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui"
)

// catalogBilling is the billing statusOf and Status.text read: the catalog.
type catalogBilling struct{ tui.Billing }

func (catalogBilling) Catalog() billing.Catalog { return billing.DefaultCatalog() }

func TestStatusOf(t *testing.T) {
	now := time.Date(2025, 11, 27, 10, 0, 0, 0, time.UTC)
	trialEnd := time.Date(2025, 12, 9, 14, 0, 0, 0, time.UTC)
	newAccount := store.Account{ID: "acc_test0000000000", Email: "dev@example.com", CreatedAt: now.Add(-time.Hour),
		Keys: []store.Key{{Fingerprint: "SHA256:uN1tT3stK3yF1ng3rpr1ntAAAAAAAAAAAAAAAAAAAAAA"}}}
	trial := newAccount
	trial.Plan, trial.State, trial.TrialUsed, trial.TrialEnd = "m", store.StateTrial, true, trialEnd
	trial.CustomerID, trial.SubscriptionID, trial.SubscriptionStatus = "cus_test", "sub_test", "trialing"
	trial.CurrentPeriodEnd, trial.Currency = trialEnd, "usd"
	trial.NextInvoiceAt, trial.NextInvoiceAmount = trialEnd, 2900
	carded := trial
	carded.HasCard, carded.CardBrand, carded.CardLast4 = true, "visa", "4242"

	fb := catalogBilling{}
	st := statusOf(carded, fb, now)
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["plan"] != "m" || got["state"] != "trial" || got["trial_end"] != "2025-12-09T14:00:00Z" ||
		got["trial_seconds_left"] != float64((12*24+4)*3600) {
		t.Errorf("json %s", raw)
	}
	if card, _ := got["card"].(map[string]any); card["last4"] != "4242" {
		t.Errorf("card in %s", raw)
	}
	text := st.text(fb)
	for _, want := range []string{"Plan:         M · $29.00/month", "State:        trial, card on file",
		"Trial ends:   2025-12-09T14:00:00Z (12 days 4 hours left)", "Card:         Visa •••• 4242"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// A trial without a card will pause, not invoice: no next invoice, as on
	// the dashboard.
	if noCard := statusOf(trial, fb, now); noCard.NextInvoice != nil || strings.Contains(noCard.text(fb), "Next invoice") {
		t.Errorf("trial without a card has a next invoice: %+v\n%s", noCard.NextInvoice, noCard.text(fb))
	}
	if carded := statusOf(carded, fb, now); carded.NextInvoice == nil {
		t.Errorf("trial with a card lacks its next invoice")
	}
	if none := statusOf(newAccount, fb, now); none.State != "none" || none.Card != nil || none.TrialEnd != nil {
		t.Errorf("new account status %+v", none)
	}
}
