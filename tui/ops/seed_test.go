package ops

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

// seedAccount is one account of the golden fixture.
type seedAccount struct {
	email string
	edit  func(a *store.Account)
}

func fp(name string) string {
	return "SHA256:" + (name + strings.Repeat("x", 43))[:43]
}

func days(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// seed fills f's store with a small, varied book of accounts, events,
// notices and audit entries, and returns the account ids by email.
func seed(tb testing.TB, f *fixture) map[string]string {
	tb.Helper()
	accts := []seedAccount{
		{"alice@example.com", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "m", store.StateTrial, true, testNow.Add(days(2))
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Alice00000001", "sub_Alice00000001", "trialing"
			a.CurrentPeriodEnd, a.LastSyncAt = a.TrialEnd, testNow.Add(-time.Hour)
		}},
		{"bob@example.com", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "s", store.StateActive, true, testNow.Add(-days(20))
			a.HasCard, a.CardBrand, a.CardLast4 = true, "visa", "4242"
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Bob0000000001", "sub_Bob0000000001", "active"
			a.CurrentPeriodEnd, a.NextInvoiceAt, a.NextInvoiceAmount, a.Currency = testNow.Add(days(10)), testNow.Add(days(10)), 900, "usd"
			a.LastSyncAt = testNow.Add(-2 * time.Hour)
			a.LastPaidAt, a.ConvertedAt = testNow.Add(-20*time.Hour), testNow.Add(-20*time.Hour) // evt_003
		}},
		{"Carol@Example.com", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "xl", store.StatePastDue, true, testNow.Add(-days(40))
			a.HasCard, a.CardBrand, a.CardLast4 = true, "mastercard", "4444"
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Carol00000001", "sub_Carol00000001", "past_due"
			a.LastSyncAt = testNow.Add(-days(1))
		}},
		{"dave@example.com", func(a *store.Account) { a.Plan, a.State = "free", store.StateFree }},
		{"erin@example.com", func(*store.Account) {}},
		{"frank@example.org", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "m", store.StateLockedTrialEnded, true, testNow.Add(-days(1))
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Frank00000001", "sub_Frank00000001", "paused"
			a.LastSyncAt = testNow.Add(-3 * time.Hour)
		}},
		{"grace@example.org", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "xxl", store.StateCanceling, true, testNow.Add(-days(60))
			a.HasCard, a.CardBrand, a.CardLast4, a.CancelAtPeriodEnd = true, "amex", "0005", true
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Grace00000001", "sub_Grace00000001", "active"
			a.LastSyncAt = testNow.Add(-30 * time.Minute)
			a.LastPaidAt, a.ConvertedAt = testNow.Add(-days(59)), testNow.Add(-days(59)) // evt_006
		}},
		{"heidi@example.org", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "s", store.StateTrial, true, testNow.Add(days(1))
			a.HasCard, a.CardBrand, a.CardLast4 = true, "visa", "1881"
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Heidi00000001", "sub_Heidi00000001", "trialing"
			a.LastSyncAt = testNow.Add(-5 * time.Minute)
		}},
		{"ivan@example.net", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "m", store.StateTrial, true, testNow.Add(days(10))
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Ivan000000001", "sub_Ivan000000001", "trialing"
			a.LastSyncAt = testNow.Add(-10 * time.Minute)
		}},
		// Converted, paid for three months, then canceled: free again, but
		// a conversion all the same.
		{"judy@example.net", func(a *store.Account) {
			a.Plan, a.State, a.TrialUsed, a.TrialEnd = "free", store.StateFree, true, testNow.Add(-days(120))
			a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_Judy000000001", "sub_Judy000000001", "canceled"
			a.LastSyncAt = testNow.Add(-days(30))
			a.LastPaidAt, a.ConvertedAt = testNow.Add(-days(60)), testNow.Add(-days(60)) // evt_007
		}},
	}
	ids := map[string]string{}
	for _, s := range accts {
		name := strings.ToLower(strings.Split(s.email, "@")[0])
		a, err := f.db.CreateAccount(s.email, store.Key{Fingerprint: fp(name), PublicKey: "ssh-ed25519 AAAA" + name})
		if err != nil {
			tb.Fatal(err)
		}
		f.edit(tb, a.ID, s.edit)
		ids[name] = a.ID
	}

	at := func(d time.Duration) time.Time { return testNow.Add(-d) }
	apply := func(ev store.Event) {
		tb.Helper()
		if _, _, err := f.db.ApplyEvent(ev, "", nil); err != nil {
			tb.Fatal(err)
		}
	}
	apply(store.Event{ID: "evt_001", Type: "customer.subscription.created", ReceivedAt: at(50 * time.Hour), AccountID: ids["alice"],
		Status: store.EventStatusProcessed, Latency: 12 * time.Millisecond})
	apply(store.Event{ID: "evt_002", Type: "customer.subscription.trial_will_end", ReceivedAt: at(2 * time.Hour), AccountID: ids["alice"],
		Status: store.EventStatusProcessed, Latency: 35 * time.Millisecond})
	// A redelivery of evt_002 counts as a duplicate.
	if _, dup, err := f.db.ApplyEvent(store.Event{ID: "evt_002", Type: "customer.subscription.trial_will_end", ReceivedAt: at(time.Hour),
		AccountID: ids["alice"], Status: store.EventStatusProcessed}, "", nil); err != nil || !dup {
		tb.Fatalf("redelivery: dup=%v err=%v", dup, err)
	}
	// invoice.paid: Created is Stripe's time; billing records the payments
	// on the accounts (LastPaidAt, ConvertedAt, set above). Alice's is her
	// trial's $0 invoice: no payment.
	apply(store.Event{ID: "evt_000", Type: "invoice.paid", Created: at(days(28)), ReceivedAt: at(days(28)), AccountID: ids["alice"],
		Status: store.EventStatusProcessed, Latency: 9 * time.Millisecond})
	apply(store.Event{ID: "evt_006", Type: "invoice.paid", Created: at(days(59)), ReceivedAt: at(days(59)), AccountID: ids["grace"],
		Status: store.EventStatusProcessed, Latency: 11 * time.Millisecond})
	apply(store.Event{ID: "evt_007", Type: "invoice.paid", Created: at(days(60)), ReceivedAt: at(days(60)), AccountID: ids["judy"],
		Status: store.EventStatusProcessed, Latency: 7 * time.Millisecond})
	apply(store.Event{ID: "evt_003", Type: "invoice.paid", Created: at(20 * time.Hour), ReceivedAt: at(20 * time.Hour), AccountID: ids["bob"],
		Status: store.EventStatusProcessed, Latency: 8 * time.Millisecond})
	apply(store.Event{ID: "evt_004", Type: "charge.refunded", ReceivedAt: at(19 * time.Hour),
		Status: store.EventStatusIgnored, Latency: 300 * time.Microsecond})
	if err := f.db.RecordEvent(store.Event{ID: "evt_005", Type: "invoice.payment_failed", ReceivedAt: at(30 * time.Minute),
		AccountID: ids["carol"], Status: store.EventStatusFailed, Error: "store: database not open", Latency: 1500 * time.Millisecond}); err != nil {
		tb.Fatal(err)
	}

	trial, _, err := f.db.AddNotice(store.Notice{AccountID: ids["alice"], Kind: "trial_will_end", Key: "sub_Alice00000001/1773316800",
		Message: "Your trial ends in 3 days.", CreatedAt: at(2 * time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.db.MarkMailed(trial.ID, time.Time{}, errors.New("smtp: connection refused"), time.Time{}); err != nil {
		tb.Fatal(err)
	}
	card, _, err := f.db.AddNotice(store.Notice{AccountID: ids["bob"], Kind: "card_added", Key: "pm_1", Message: "Card added.", CreatedAt: at(days(20))})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.db.MarkMailed(card.ID, at(days(20)-time.Minute), nil, time.Time{}); err != nil {
		tb.Fatal(err)
	}

	for _, e := range []store.AuditEntry{
		{Actor: reconcilerActor, AccountID: ids["frank"], Action: "drift", At: at(3 * time.Hour),
			Before: "state=trial plan=m card=false sub=sub_Frank00000001 status=trialing", After: "state=locked_trial_ended plan=m card=false sub=sub_Frank00000001 status=paused"},
		{Actor: fp("ops"), AccountID: ids["alice"], Action: "extend_trial days=2", At: at(days(1)),
			Before: "plan=m state=trial trial_end=2026-03-10T12:00:00Z", After: "plan=m state=trial trial_end=2026-03-12T12:00:00Z"},
		{Actor: fp("ops"), Action: "advance_clock by=24h0m0s", At: at(days(1) + time.Hour),
			Before: "2026-03-10 12:00", After: "2026-03-11 12:00"},
	} {
		if _, err := f.db.AppendAudit(e); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}
