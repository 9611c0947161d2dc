package billing

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

var (
	t0       = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	trialEnd = t0.Add(30 * 24 * time.Hour)
	periodE  = t0.Add(60 * 24 * time.Hour)
)

func trialAccount() store.Account {
	return store.Account{
		ID: "acc_1", Email: "a@example.com", Plan: "s", State: store.StateTrial, TrialUsed: true,
		CustomerID: "cus_1", SubscriptionID: "sub_1", SubscriptionStatus: "trialing",
	}
}

func snapshot(status stripe.SubscriptionStatus, card, cancel bool) *Snapshot {
	s := &Snapshot{
		ID: "sub_1", CustomerID: "cus_1", Status: status, PlanID: "m", CatalogPrice: true, Amount: 2900, Currency: "usd",
		CardKnown: true, CancelAtPeriodEnd: cancel, TrialStart: t0, TrialEnd: trialEnd, CurrentPeriodEnd: periodE,
		// An open invoice in every row: only the states that owe it show it.
		LatestInvoiceID: "in_1", LatestInvoiceStatus: "open", LatestInvoiceRemaining: 3100,
	}
	if card {
		s.HasCard, s.PaymentMethodID, s.CardBrand, s.CardLast4 = true, "pm_1", "visa", "4242"
	}
	return s
}

// TestDeriveTable covers every subscription status of stripe-go v76 (and none,
// and one this code has never heard of) × card × cancel_at_period_end.
func TestDeriveTable(t *testing.T) {
	type want struct {
		state   store.State
		plan    string
		next    time.Time // zero: no next invoice
		pending bool
		due     bool // the open invoice's 3100 is owed
	}
	// Indexed by cancel flag: [false, true].
	table := map[stripe.SubscriptionStatus][2]want{
		"": {
			{state: store.StateLockedCanceled, plan: "s"},
			{state: store.StateLockedCanceled, plan: "s"},
		},
		stripe.SubscriptionStatusTrialing: {
			{state: store.StateTrial, plan: "m", next: trialEnd},
			{state: store.StateCanceling, plan: "m"},
		},
		stripe.SubscriptionStatusActive: {
			{state: store.StateActive, plan: "m", next: periodE},
			{state: store.StateCanceling, plan: "m"},
		},
		stripe.SubscriptionStatusPastDue: {
			{state: store.StatePastDue, plan: "m", next: periodE, due: true},
			{state: store.StatePastDue, plan: "m", due: true},
		},
		stripe.SubscriptionStatusPaused: {
			{state: store.StateLockedTrialEnded, plan: "m"},
			{state: store.StateLockedTrialEnded, plan: "m"},
		},
		stripe.SubscriptionStatusUnpaid: {
			{state: store.StateLockedUnpaid, plan: "m", due: true},
			{state: store.StateLockedUnpaid, plan: "m", due: true},
		},
		// Canceled without the customer asking (dunning): locked until they
		// choose; with cancel_at_period_end the customer asked: free.
		stripe.SubscriptionStatusCanceled: {
			{state: store.StateLockedCanceled, plan: "m"},
			{state: store.StateFree, plan: PlanFree},
		},
		stripe.SubscriptionStatusIncompleteExpired: {
			{state: store.StateLockedCanceled, plan: "m"},
			{state: store.StateFree, plan: PlanFree},
		},
		stripe.SubscriptionStatusIncomplete: {
			{state: store.StateTrial, plan: "s", pending: true},
			{state: store.StateTrial, plan: "s", pending: true},
		},
		"some_future_status": {
			{state: store.StateTrial, plan: "s", pending: true},
			{state: store.StateTrial, plan: "s", pending: true},
		},
	}
	for _, st := range []stripe.SubscriptionStatus{
		stripe.SubscriptionStatusActive, stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusIncomplete,
		stripe.SubscriptionStatusIncompleteExpired, stripe.SubscriptionStatusPastDue, stripe.SubscriptionStatusPaused,
		stripe.SubscriptionStatusTrialing, stripe.SubscriptionStatusUnpaid,
	} {
		if _, ok := table[st]; !ok {
			t.Fatalf("status %q has no row", st)
		}
	}
	for status, rows := range table {
		for _, card := range []bool{false, true} {
			for i, cancel := range []bool{false, true} {
				w := rows[i]
				t.Run(fmt.Sprintf("%s/card=%v/cancel=%v", status, card, cancel), func(t *testing.T) {
					prev := trialAccount()
					prev.TrialClaimedAt = t0 // a claim still waiting for Stripe's answer
					var snap *Snapshot
					if status != "" {
						snap = snapshot(status, card, cancel)
					}
					got := Derive(prev, snap)
					if got.State != w.state || got.Plan != w.plan || got.PaymentPending != w.pending {
						t.Fatalf("state/plan/pending = %q/%q/%v, want %q/%q/%v", got.State, got.Plan, got.PaymentPending, w.state, w.plan, w.pending)
					}
					if !got.NextInvoiceAt.Equal(w.next) {
						t.Errorf("NextInvoiceAt = %v, want %v", got.NextInvoiceAt, w.next)
					}
					if !w.next.IsZero() && got.NextInvoiceAmount != 2900 {
						t.Errorf("NextInvoiceAmount = %d, want 2900", got.NextInvoiceAmount)
					}
					if wantDue := map[bool]int64{true: 3100}[w.due]; got.AmountDue != wantDue {
						t.Errorf("AmountDue = %d, want %d", got.AmountDue, wantDue)
					}
					if got.ID != prev.ID || got.Email != prev.Email || got.CustomerID != "cus_1" {
						t.Errorf("identity changed: %+v", got)
					}
					if wantClaim := map[bool]time.Time{true: t0}[snap == nil]; !got.TrialClaimedAt.Equal(wantClaim) {
						t.Errorf("TrialClaimedAt = %v, want %v (a trial subscription settles the claim)", got.TrialClaimedAt, wantClaim)
					}
					if snap == nil {
						if got.SubscriptionID != "" || got.HasCard != prev.HasCard {
							t.Errorf("no subscription: got sub %q card %v", got.SubscriptionID, got.HasCard)
						}
						return
					}
					if got.HasCard != card || (card && (got.CardBrand != "visa" || got.CardLast4 != "4242")) {
						t.Errorf("card = %v %q %q, want %v", got.HasCard, got.CardBrand, got.CardLast4, card)
					}
					if got.SubscriptionStatus != string(status) || got.SubscriptionID != "sub_1" {
						t.Errorf("subscription = %q %q", got.SubscriptionID, got.SubscriptionStatus)
					}
					if !got.TrialUsed || !got.TrialEnd.Equal(trialEnd) {
						t.Errorf("trial used/end = %v %v", got.TrialUsed, got.TrialEnd)
					}
					terminal := status == stripe.SubscriptionStatusCanceled || status == stripe.SubscriptionStatusIncompleteExpired
					if got.CancelAtPeriodEnd != (cancel && !terminal) {
						t.Errorf("CancelAtPeriodEnd = %v", got.CancelAtPeriodEnd)
					}
				})
			}
		}
	}
}

func TestDeriveChoices(t *testing.T) {
	t.Run("canceled after choosing free", func(t *testing.T) {
		prev := trialAccount()
		prev.Plan, prev.State = PlanFree, store.StateFree
		got := Derive(prev, snapshot(stripe.SubscriptionStatusCanceled, false, false))
		if got.State != store.StateFree || got.Plan != PlanFree {
			t.Fatalf("got %q %q", got.State, got.Plan)
		}
	})
	t.Run("canceled at the customer's request", func(t *testing.T) {
		snap := snapshot(stripe.SubscriptionStatusCanceled, true, false)
		snap.CancellationReason = "cancellation_requested"
		if got := Derive(trialAccount(), snap); got.State != store.StateFree {
			t.Fatalf("got %q", got.State)
		}
	})
	t.Run("canceled after canceling state", func(t *testing.T) {
		prev := trialAccount()
		prev.State = store.StateCanceling
		if got := Derive(prev, snapshot(stripe.SubscriptionStatusCanceled, true, false)); got.State != store.StateFree {
			t.Fatalf("got %q", got.State)
		}
	})
	t.Run("no subscription, free and none", func(t *testing.T) {
		for plan, want := range map[string]store.State{PlanFree: store.StateFree, "": store.StateNone} {
			prev := store.Account{ID: "acc_1", Plan: plan}
			if got := Derive(prev, nil); got.State != want {
				t.Errorf("plan %q: got %q, want %q", plan, got.State, want)
			}
		}
	})
	t.Run("stale terminal snapshot of an older subscription", func(t *testing.T) {
		prev := trialAccount()
		prev.SubscriptionID, prev.State, prev.SubscriptionStatus = "sub_2", store.StateActive, "active"
		got := Derive(prev, snapshot(stripe.SubscriptionStatusCanceled, false, false))
		if !reflect.DeepEqual(got, prev) {
			t.Fatalf("changed: %+v", got)
		}
	})
	t.Run("live snapshot of a new subscription is adopted", func(t *testing.T) {
		prev := trialAccount()
		prev.SubscriptionID, prev.State, prev.SubscriptionStatus = "sub_0", store.StateLockedCanceled, "canceled"
		got := Derive(prev, snapshot(stripe.SubscriptionStatusActive, true, false))
		if got.SubscriptionID != "sub_1" || got.State != store.StateActive {
			t.Fatalf("got %q %q", got.SubscriptionID, got.State)
		}
	})
	t.Run("another customer's subscription is ignored", func(t *testing.T) {
		snap := snapshot(stripe.SubscriptionStatusActive, true, false)
		snap.CustomerID = "cus_other"
		if got := Derive(trialAccount(), snap); !reflect.DeepEqual(got, trialAccount()) {
			t.Fatalf("changed: %+v", got)
		}
	})
	t.Run("a subscription of another integration is ignored", func(t *testing.T) {
		// Same customer, a price outside the catalog, not made for this
		// account: another product sold to the same customer.
		for _, meta := range []string{"", "acc_other"} {
			snap := snapshot(stripe.SubscriptionStatusActive, true, false)
			snap.ID, snap.PlanID, snap.CatalogPrice, snap.AccountID = "sub_other", "", false, meta
			prev := trialAccount()
			prev.SubscriptionID, prev.SubscriptionStatus, prev.State = "", "", store.StateLockedCanceled
			if got := Derive(prev, snap); !reflect.DeepEqual(got, prev) {
				t.Fatalf("account_id %q: changed: %+v", meta, got)
			}
		}
		// The portal's own subscription on a price the catalog no longer
		// lists is still the account's.
		snap := snapshot(stripe.SubscriptionStatusActive, true, false)
		snap.CatalogPrice, snap.AccountID = false, "acc_1"
		if got := Derive(trialAccount(), snap); got.State != store.StateActive {
			t.Fatalf("own subscription on an old price: %q", got.State)
		}
	})
	t.Run("a subscription without a trial leaves a trial claim", func(t *testing.T) {
		prev := store.Account{ID: "acc_1", TrialUsed: true, TrialClaimedAt: t0}
		snap := snapshot(stripe.SubscriptionStatusActive, true, false)
		snap.TrialStart, snap.TrialEnd = time.Time{}, time.Time{}
		if got := Derive(prev, snap); !got.TrialClaimedAt.Equal(t0) || !got.TrialUsed || !got.TrialEnd.IsZero() {
			t.Fatalf("claim %v used %v trial end %v", got.TrialClaimedAt, got.TrialUsed, got.TrialEnd)
		}
		// Another integration's trial is not the account's trial.
		snap = snapshot(stripe.SubscriptionStatusTrialing, false, false)
		snap.CatalogPrice, snap.AccountID = false, ""
		if got := Derive(prev, snap); !reflect.DeepEqual(got, prev) {
			t.Fatalf("foreign trial changed the account: %+v", got)
		}
	})
	t.Run("unknown card keeps the stored card", func(t *testing.T) {
		prev := trialAccount()
		prev.HasCard, prev.CardBrand, prev.CardLast4 = true, "visa", "4242"
		snap := snapshot(stripe.SubscriptionStatusActive, false, false)
		snap.CardKnown = false
		if got := Derive(prev, snap); !got.HasCard || got.CardLast4 != "4242" {
			t.Fatalf("card lost: %+v", got)
		}
	})
	t.Run("pending upgrade keeps the plan and flags payment", func(t *testing.T) {
		snap := snapshot(stripe.SubscriptionStatusActive, true, false)
		snap.PendingUpdate = true
		if got := Derive(trialAccount(), snap); !got.PaymentPending || got.State != store.StateActive {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("first subscription links customer", func(t *testing.T) {
		prev := store.Account{ID: "acc_1", Plan: "s"}
		got := Derive(prev, snapshot(stripe.SubscriptionStatusTrialing, false, false))
		if got.CustomerID != "cus_1" || got.SubscriptionID != "sub_1" || got.State != store.StateTrial {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestSnapshotOf(t *testing.T) {
	if s := SnapshotOf(nil); s != (Snapshot{}) {
		t.Fatalf("nil: %+v", s)
	}
	// A subscription as the API returns it with expand[]=customer.invoice_settings.default_payment_method.
	raw := `{"id":"sub_1","object":"subscription","status":"trialing","created":1700000000,
	 "currency":"usd","cancel_at_period_end":false,"trial_start":1700000000,"trial_end":1702592000,
	 "current_period_end":1702592000,"default_payment_method":null,"pending_update":null,
	 "cancellation_details":{"reason":null},"latest_invoice":"in_1","metadata":{},
	 "items":{"object":"list","data":[{"id":"si_1","quantity":1,"price":{"id":"price_1","lookup_key":"portal_xl_monthly","unit_amount":7900,"currency":"usd"}}]},
	 "customer":{"id":"cus_1","object":"customer","invoice_settings":{"default_payment_method":{"id":"pm_1","object":"payment_method","card":{"brand":"visa","last4":"4242"}}}}}`
	var sub stripe.Subscription
	if err := json.Unmarshal([]byte(raw), &sub); err != nil {
		t.Fatal(err)
	}
	s := SnapshotOf(&sub)
	want := Snapshot{
		ID: "sub_1", CustomerID: "cus_1", Status: "trialing", Created: time.Unix(1700000000, 0).UTC(),
		PlanID: "xl", CatalogPrice: true, LookupKey: "portal_xl_monthly", PriceID: "price_1", ItemID: "si_1", Amount: 7900, Currency: "usd",
		CardKnown: true, HasCard: true, PaymentMethodID: "pm_1", CardBrand: "visa", CardLast4: "4242",
		TrialStart: time.Unix(1700000000, 0).UTC(), TrialEnd: time.Unix(1702592000, 0).UTC(),
		CurrentPeriodEnd: time.Unix(1702592000, 0).UTC(), LatestInvoiceID: "in_1",
	}
	if s != want {
		t.Fatalf("got  %+v\nwant %+v", s, want)
	}
	// Unexpanded customer: the card is unknown, not absent.
	sub.Customer = &stripe.Customer{ID: "cus_1"}
	if s := SnapshotOf(&sub); s.CardKnown || s.HasCard {
		t.Fatalf("unexpanded customer: %+v", s)
	}
	// Nulls everywhere.
	if err := json.Unmarshal([]byte(`{"id":"sub_2","items":null,"customer":null,"latest_invoice":null,"metadata":null}`), &sub); err != nil {
		t.Fatal(err)
	}
	_ = SnapshotOf(&sub)
	// An expanded latest invoice gives what is still owed on it.
	if err := json.Unmarshal([]byte(`{"id":"sub_3","status":"unpaid","latest_invoice":{"id":"in_3","object":"invoice","status":"open","amount_due":4900,"amount_remaining":2400}}`), &sub); err != nil {
		t.Fatal(err)
	}
	if s := SnapshotOf(&sub); s.LatestInvoiceID != "in_3" || s.LatestInvoiceStatus != "open" || s.LatestInvoiceRemaining != 2400 {
		t.Fatalf("expanded invoice: %+v", s)
	}
}

// TestDeriveAmountDue: only an open latest invoice is owed, and the amount
// goes away with the state that owed it.
func TestDeriveAmountDue(t *testing.T) {
	snap := snapshot(stripe.SubscriptionStatusPastDue, true, false)
	snap.LatestInvoiceStatus = "paid"
	if got := Derive(trialAccount(), snap); got.AmountDue != 0 {
		t.Errorf("paid latest invoice: AmountDue = %d, want 0", got.AmountDue)
	}
	unpaid := Derive(trialAccount(), snapshot(stripe.SubscriptionStatusUnpaid, true, false))
	if unpaid.AmountDue != 3100 {
		t.Fatalf("unpaid: AmountDue = %d, want 3100", unpaid.AmountDue)
	}
	if got := Derive(unpaid, snapshot(stripe.SubscriptionStatusActive, true, false)); got.AmountDue != 0 {
		t.Errorf("unpaid → active: AmountDue = %d, want 0", got.AmountDue)
	}
	if got := Derive(unpaid, nil); got.AmountDue != 0 {
		t.Errorf("unpaid → no subscription: AmountDue = %d, want 0", got.AmountDue)
	}
}

// TestDeriveRetriesOver: a past-due subscription whose open invoice Stripe
// tried and will try no more is "retries over"; one with a next attempt,
// an unattempted one and any other state are not.
func TestDeriveRetriesOver(t *testing.T) {
	for _, c := range []struct {
		name string
		json string
		want bool
	}{
		{"last retry failed", `{"status":"past_due","latest_invoice":{"id":"in_1","status":"open","attempted":true,"next_payment_attempt":null}}`, true},
		{"retry scheduled", `{"status":"past_due","latest_invoice":{"id":"in_1","status":"open","attempted":true,"next_payment_attempt":1702592000}}`, false},
		{"never attempted", `{"status":"past_due","latest_invoice":{"id":"in_1","status":"open","attempted":false}}`, false},
		{"invoice paid", `{"status":"past_due","latest_invoice":{"id":"in_1","status":"paid","attempted":true}}`, false},
		{"unexpanded invoice", `{"status":"past_due","latest_invoice":"in_1"}`, false},
		{"unpaid, not past due", `{"status":"unpaid","latest_invoice":{"id":"in_1","status":"open","attempted":true}}`, false},
	} {
		var sub stripe.Subscription
		if err := json.Unmarshal([]byte(`{"id":"sub_1","object":"subscription",`+c.json[1:]), &sub); err != nil {
			t.Fatal(err)
		}
		parsed := SnapshotOf(&sub)
		snap := snapshot(parsed.Status, true, false) // a catalog plan's subscription
		snap.LatestInvoiceRetriesOver = parsed.LatestInvoiceRetriesOver
		if got := Derive(trialAccount(), snap); got.RetriesOver != c.want {
			t.Errorf("%s: RetriesOver = %v, want %v", c.name, got.RetriesOver, c.want)
		}
	}
	past := snapshot(stripe.SubscriptionStatusPastDue, true, false)
	past.LatestInvoiceRetriesOver = true
	over := Derive(trialAccount(), past)
	if !over.RetriesOver {
		t.Fatal("past due, retries over: RetriesOver = false")
	}
	if got := Derive(over, snapshot(stripe.SubscriptionStatusActive, true, false)); got.RetriesOver {
		t.Error("paid after the retries ended: RetriesOver stays true")
	}
}

// A subscription's schedule, expanded, gives the scheduled change: the
// phase after the current one, whoever made the schedule; an id alone
// (not expanded) says nothing, and Derive keeps what billing recorded.
func TestSnapshotSchedule(t *testing.T) {
	const base = `{"id":"sub_1","object":"subscription","status":"active","current_period_end":1702592000,
	 "items":{"object":"list","data":[{"id":"si_1","quantity":1,"price":{"id":"price_m","lookup_key":"portal_m_monthly","unit_amount":2900,"currency":"usd"}}]},
	 "customer":"cus_1","schedule":%s}`
	phases := `[{"start_date":1700000000,"end_date":1702592000,"items":[{"price":{"id":"price_m","lookup_key":"portal_m_monthly"},"quantity":1}]},
	 {"start_date":1702592000,"end_date":1705270400,"items":[{"price":{"id":"price_s","lookup_key":"portal_s_monthly"},"quantity":1}]}]`
	cases := []struct {
		name, schedule string
		known          bool
		plan           string
		at             int64
	}{
		{"none", `null`, false, "", 0},
		{"id only", `"sub_sched_1"`, false, "", 0},
		{"active, next phase S", `{"id":"sub_sched_1","object":"subscription_schedule","status":"active",
		  "current_phase":{"start_date":1700000000,"end_date":1702592000},"phases":` + phases + `}`, true, "s", 1702592000},
		{"in its last phase", `{"id":"sub_sched_1","object":"subscription_schedule","status":"active",
		  "current_phase":{"start_date":1702592000,"end_date":1705270400},"phases":` + phases + `}`, true, "", 0},
		{"released", `{"id":"sub_sched_1","object":"subscription_schedule","status":"released","current_phase":null,"phases":` + phases + `}`, true, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sub stripe.Subscription
			if err := json.Unmarshal([]byte(fmt.Sprintf(base, c.schedule)), &sub); err != nil {
				t.Fatal(err)
			}
			s := SnapshotOf(&sub)
			if s.ScheduleKnown != c.known || s.ScheduledPlan != c.plan || s.ScheduledAt != unixTime(c.at) {
				t.Fatalf("known %t plan %q at %v, want %t %q %v", s.ScheduleKnown, s.ScheduledPlan, s.ScheduledAt, c.known, c.plan, unixTime(c.at))
			}
			// Derive: billing recorded a change to XL on another schedule.
			prev := store.Account{ID: "acc_1", Plan: "m", CustomerID: "cus_1", SubscriptionID: "sub_1", SubscriptionStatus: "active",
				ScheduleID: "sub_sched_1", ScheduledPlan: "xl", ScheduledAt: unixTime(1702592000)}
			got := Derive(prev, &s)
			wantPlan := c.plan
			if !c.known && s.ScheduleID == prev.ScheduleID {
				wantPlan = "xl" // not expanded: billing's record stands
			}
			if got.ScheduledPlan != wantPlan {
				t.Fatalf("Derive: scheduled %q, want %q", got.ScheduledPlan, wantPlan)
			}
			if (got.ScheduleID != "") != (s.ScheduleID != "") {
				t.Fatalf("Derive: schedule id %q from a snapshot with %q", got.ScheduleID, s.ScheduleID)
			}
		})
	}
}
