package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testSecret = "whsec_test_portal"

// testEvent is a webhook delivery: a Stripe event around obj.
type testEvent struct {
	ID, Type string
	Obj      map[string]any
}

func (e testEvent) payload(apiVersion string) []byte {
	b, err := json.Marshal(map[string]any{
		"id": e.ID, "object": "event", "api_version": apiVersion, "created": 1700000000, "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"type": e.Type, "data": map[string]any{"object": e.Obj},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// post sends body with signature header sig (none when "") and returns the status.
func post(tb testing.TB, h http.Handler, body []byte, sig string) int {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func deliver(tb testing.TB, h http.Handler, e testEvent) int {
	tb.Helper()
	p := e.payload(stripe.APIVersion)
	return post(tb, h, p, sign(p, testSecret, time.Now()))
}

func subObj(id, customer string) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": customer, "status": "trialing", "items": map[string]any{"data": []any{}}}
}

// webhookEnv is a service on a fake Stripe and a fresh store.
type webhookEnv struct {
	db   *store.DB
	fake *fakeStripe
	svc  *Service
	h    http.Handler
}

func newWebhookEnv(tb testing.TB, fake *fakeStripe, noSync bool) *webhookEnv {
	tb.Helper()
	db := openStore(tb, noSync)
	svc, err := New(Config{API: fake.api(), Store: db, Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return &webhookEnv{db: db, fake: fake, svc: svc, h: svc.WebhookHandler(testSecret, WebhookOptions{})}
}

// accounts returns every account with the fields that move on every write
// cleared, for comparing outcomes.
func (e *webhookEnv) accounts(tb testing.TB) map[string]store.Account {
	tb.Helper()
	out := map[string]store.Account{}
	err := e.db.ForEachAccount(func(a store.Account) bool {
		a.Version, a.UpdatedAt, a.LastSyncAt, a.CreatedAt, a.ID = 0, time.Time{}, time.Time{}, time.Time{}, ""
		a.Keys = nil
		out[a.Email] = a
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// notices returns "email kind key" for every notice.
func (e *webhookEnv) notices(tb testing.TB) []string {
	tb.Helper()
	var out []string
	err := e.db.ForEachAccount(func(a store.Account) bool {
		ns, err := e.db.Notices(a.ID)
		if err != nil {
			tb.Fatal(err)
		}
		for _, n := range ns {
			out = append(out, a.Email+" "+string(n.Kind)+" "+n.Key)
		}
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// step is one moment of an account's life at Stripe: the state the
// subscription (and card) moves to, and the events Stripe then sends, in
// order. A subscription event's object is the subscription as it is at that
// moment (stepEvents fills it in), as in Stripe's payloads.
type step struct {
	apply  func(*fakeStripe)
	events []testEvent
}

// stepEvents moves fake to st's state and returns st's events with their
// subscription objects taken from that state.
func stepEvents(fake *fakeStripe, st step) []testEvent {
	st.apply(fake)
	out := make([]testEvent, len(st.events))
	for i, e := range st.events {
		if e.Obj["object"] == "subscription" {
			fake.mu.Lock()
			e.Obj = fake.subJSON(fake.subs[e.Obj["id"].(string)])
			fake.mu.Unlock()
		}
		out[i] = e
	}
	return out
}

// scenario returns account i's life at Stripe as a sequence of steps.
func scenario(i int) (email string, setup func(*store.Account), steps []step) {
	cus, subA, subB := fmt.Sprintf("cus_%03d", i), fmt.Sprintf("sub_%03da", i), fmt.Sprintf("sub_%03db", i)
	email = fmt.Sprintf("user%03d@example.com", i)
	trialEnd := int64(1702592000)
	ev := func(n int, typ string, obj map[string]any) testEvent {
		return testEvent{ID: fmt.Sprintf("evt_%03d_%02d", i, n), Type: typ, Obj: obj}
	}
	inv := func(id, reason string, paid, due int64, sub string) map[string]any {
		return map[string]any{"id": id, "object": "invoice", "customer": cus, "subscription": sub, "billing_reason": reason, "amount_paid": paid, "amount_due": due, "currency": "usd"}
	}
	sub := func(s fakeSub) func(*fakeStripe) {
		s.Customer = cus
		return func(f *fakeStripe) { f.setSub(s) }
	}
	card := func(pm string, then func(*fakeStripe)) func(*fakeStripe) {
		return func(f *fakeStripe) { f.setCard(cus, pm); then(f) }
	}
	same := func(*fakeStripe) {}
	setup = func(a *store.Account) { a.CustomerID, a.Plan, a.State = cus, "s", store.StateNone }
	switch i % scenarios {
	case 0: // trial → card → active at trial end
		pm := fmt.Sprintf("pm_%03d4242", i)
		steps = []step{
			{card("", sub(fakeSub{ID: subA, Status: "trialing", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.created", subObj(subA, cus)),
				ev(2, "invoice.paid", inv("in_"+subA+"_0", "subscription_create", 0, 0, subA)),
			}},
			{func(f *fakeStripe) {
				f.mu.Lock()
				f.setups["seti_"+cus] = fakeSetup{Customer: cus, PM: pm, SubscriptionID: subA}
				f.mu.Unlock()
			}, []testEvent{
				ev(3, "checkout.session.completed", map[string]any{"id": "cs_" + cus, "object": "checkout.session", "mode": "setup", "customer": cus, "setup_intent": "seti_" + cus, "subscription": nil, "metadata": map[string]any{"subscription_id": subA}}),
			}},
			// The handler of ev 3 made the card the default; Stripe then says so.
			{card(pm, same), []testEvent{ev(4, "customer.updated", map[string]any{"id": cus, "object": "customer"})}},
			{same, []testEvent{ev(5, "customer.subscription.trial_will_end", subObj(subA, cus))}},
			{sub(fakeSub{ID: subA, Status: "active", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd + 30*86400}), []testEvent{
				ev(6, "customer.subscription.updated", subObj(subA, cus)),
				ev(7, "invoice.paid", inv("in_"+subA+"_1", "subscription_cycle", 900, 900, subA)),
			}},
		}
	case 1: // trial → no card → paused (locked)
		steps = []step{
			{card("", sub(fakeSub{ID: subA, Status: "trialing", Plan: "m", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.created", subObj(subA, cus)),
			}},
			{same, []testEvent{ev(2, "customer.subscription.trial_will_end", subObj(subA, cus))}},
			{sub(fakeSub{ID: subA, Status: "paused", Plan: "m", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd}), []testEvent{
				ev(3, "customer.subscription.updated", subObj(subA, cus)),
				ev(4, "customer.subscription.paused", subObj(subA, cus)),
			}},
		}
	case 2: // first subscription canceled, a new one bought through checkout
		steps = []step{
			{card("", sub(fakeSub{ID: subA, Status: "trialing", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.created", subObj(subA, cus)),
			}},
			{sub(fakeSub{ID: subA, Status: "canceled", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd}), []testEvent{
				ev(2, "customer.subscription.deleted", subObj(subA, cus)),
			}},
			{card(fmt.Sprintf("pm_%03d1881", i), sub(fakeSub{ID: subB, Status: "active", Plan: "xl", Created: 2, TrialEnd: trialEnd, PeriodEnd: trialEnd + 60*86400})), []testEvent{
				ev(3, "checkout.session.completed", map[string]any{"id": "cs_" + cus, "object": "checkout.session", "mode": "subscription", "customer": cus, "subscription": subB, "metadata": nil}),
				ev(4, "customer.subscription.created", subObj(subB, cus)),
				ev(5, "invoice.paid", inv("in_"+subB+"_0", "subscription_create", 7900, 7900, subB)),
			}},
		}
	case 3: // failing card: past_due → unpaid
		failing := fakeSub{ID: subA, Status: "trialing", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd}
		steps = []step{
			{card(fmt.Sprintf("pm_%03d0341", i), sub(failing)), []testEvent{ev(1, "customer.subscription.created", subObj(subA, cus))}},
		}
		failing.PeriodEnd, failing.LatestInvoice, failing.InvoiceStatus = trialEnd+30*86400, "in_"+subA+"_1", "open"
		for n, status := range []string{"past_due", "unpaid"} {
			failing.Status = status
			steps = append(steps, step{sub(failing), []testEvent{
				ev(2+2*n, "invoice.payment_failed", inv("in_"+subA+"_1", "subscription_cycle", 0, 900, subA)),
				ev(3+2*n, "customer.subscription.updated", subObj(subA, cus)),
			}})
		}
	case 4: // upgrade m → xl, then cancel at period end
		setup = func(a *store.Account) {
			a.CustomerID, a.Plan, a.State, a.SubscriptionID, a.SubscriptionStatus = cus, "m", store.StateActive, subA, "active"
		}
		steps = []step{
			{card(fmt.Sprintf("pm_%03d5556", i), sub(fakeSub{ID: subA, Status: "active", Plan: "xl", Created: 1, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.updated", subObj(subA, cus)),
				ev(2, "invoice.paid", inv("in_"+subA+"_up", "subscription_update", 5000, 5000, subA)),
			}},
			{sub(fakeSub{ID: subA, Status: "active", Plan: "xl", Cancel: true, Created: 1, PeriodEnd: trialEnd}), []testEvent{
				ev(3, "customer.subscription.updated", subObj(subA, cus)),
				ev(4, "invoice.created", inv("in_"+subA+"_x", "manual", 0, 0, subA)),
			}},
		}
	case 5: // trial with a card, still trialing: the trial_will_end notice;
		// the customer also buys another product (a newer, active
		// subscription of another integration) that must change nothing
		steps = []step{
			{card("", sub(fakeSub{ID: subA, Status: "trialing", Plan: "xxl", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.created", subObj(subA, cus)),
			}},
			{card(fmt.Sprintf("pm_%03d0077", i), same), []testEvent{ev(2, "customer.updated", map[string]any{"id": cus, "object": "customer"})}},
			{same, []testEvent{ev(3, "customer.subscription.trial_will_end", subObj(subA, cus))}},
			{sub(fakeSub{ID: subB, Status: "active", Created: 2, PeriodEnd: trialEnd, Foreign: true}), []testEvent{
				ev(4, "customer.subscription.created", subObj(subB, cus)),
				ev(5, "invoice.payment_failed", inv("in_"+subB+"_0", "subscription_create", 0, 500, subB)),
				ev(6, "customer.subscription.updated", subObj(subB, cus)),
			}},
		}
	case 6: // a second subscription of the customer (the Dashboard): flagged,
		// never adopted while the account's own lives; adopted once the
		// own one is canceled
		steps = []step{
			{card("", sub(fakeSub{ID: subA, Status: "trialing", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.created", subObj(subA, cus)),
			}},
			{sub(fakeSub{ID: subB, Status: "trialing", Plan: "m", Created: 2, TrialEnd: trialEnd + 86400, PeriodEnd: trialEnd + 86400}), []testEvent{
				ev(2, "customer.subscription.created", subObj(subB, cus)),
			}},
			{sub(fakeSub{ID: subA, Status: "canceled", Plan: "s", Reason: "cancellation_requested", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd}), []testEvent{
				ev(3, "customer.subscription.deleted", subObj(subA, cus)),
			}},
		}
	case 7: // the events added for access: a failed upgrade that expires,
		// card updates, an expired checkout, 3-D Secure, a voided
		// invoice, a dispute
		setup = func(a *store.Account) {
			a.CustomerID, a.Plan, a.State, a.SubscriptionID, a.SubscriptionStatus = cus, "m", store.StateActive, subA, "active"
		}
		active := fakeSub{ID: subA, Status: "active", Plan: "m", Created: 1, PeriodEnd: trialEnd}
		pending := active
		pending.Pending, pending.LatestInvoice, pending.InvoiceStatus = true, "in_"+subA+"_up", "open"
		expired := pending
		expired.Pending, expired.InvoiceStatus = false, "void"
		upInv := inv("in_"+subA+"_up", "subscription_update", 0, 5000, subA)
		upInv["lines"] = map[string]any{"data": []any{
			map[string]any{"amount": -2900, "price": map[string]any{"lookup_key": DefaultLookupKey("m")}},
			map[string]any{"amount": 7900, "price": map[string]any{"lookup_key": DefaultLookupKey("xl")}},
		}}
		upInv["hosted_invoice_url"] = "https://invoice.example/" + subA
		pmObj := func(id string) map[string]any {
			return map[string]any{"id": id, "object": "payment_method", "customer": cus}
		}
		steps = []step{
			{card(fmt.Sprintf("pm_%03d4444", i), sub(active)), []testEvent{ev(1, "customer.subscription.updated", subObj(subA, cus))}},
			{sub(pending), []testEvent{
				ev(2, "invoice.payment_action_required", upInv),
				ev(3, "invoice.payment_failed", upInv),
				ev(4, "customer.subscription.updated", subObj(subA, cus)),
			}},
			{sub(expired), []testEvent{
				ev(5, "customer.subscription.pending_update_expired", subObj(subA, cus)),
				ev(6, "invoice.voided", upInv),
			}},
			{card(fmt.Sprintf("pm_%03d1117", i), same), []testEvent{
				ev(7, "payment_method.attached", pmObj(fmt.Sprintf("pm_%03d1117", i))),
				ev(8, "payment_method.automatically_updated", pmObj(fmt.Sprintf("pm_%03d1117", i))),
			}},
			{func(f *fakeStripe) {
				f.mu.Lock()
				f.charges["ch_"+cus] = cus
				f.mu.Unlock()
			}, []testEvent{
				ev(9, "checkout.session.expired", map[string]any{"id": "cs_exp_" + cus, "object": "checkout.session", "customer": cus, "status": "expired"}),
				ev(10, "charge.dispute.created", map[string]any{"id": "dp_" + cus, "object": "dispute", "charge": "ch_" + cus}),
			}},
		}
	case 8: // the customer deleted at Stripe: unlinked, account kept
		setup = func(a *store.Account) {
			a.CustomerID, a.Plan, a.State, a.SubscriptionID, a.SubscriptionStatus = cus, "s", store.StateTrial, subA, "trialing"
			a.TrialUsed, a.TrialEnd, a.Currency = true, time.Unix(trialEnd, 0).UTC(), "usd"
		}
		steps = []step{
			{card("", sub(fakeSub{ID: subA, Status: "trialing", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd})), []testEvent{
				ev(1, "customer.subscription.updated", subObj(subA, cus)),
			}},
			{sub(fakeSub{ID: subA, Status: "canceled", Plan: "s", Created: 1, TrialEnd: trialEnd, PeriodEnd: trialEnd}), []testEvent{
				ev(2, "customer.deleted", map[string]any{"id": cus, "object": "customer", "deleted": true}),
				ev(3, "customer.subscription.deleted", subObj(subA, cus)),
			}},
		}
	case 9: // a downgrade at the period end through a subscription
		// schedule, edited and released in the Dashboard, made again, reached
		// at the renewal, then completed
		setup = func(a *store.Account) {
			a.CustomerID, a.Plan, a.State, a.SubscriptionID, a.SubscriptionStatus = cus, "xl", store.StateActive, subA, "active"
		}
		xl := fakeSub{ID: subA, Status: "active", Plan: "xl", Created: 1, PeriodEnd: trialEnd}
		sched := func(id, sub string, released bool) map[string]any {
			o := map[string]any{"id": id, "object": "subscription_schedule", "customer": cus, "subscription": sub, "released_subscription": nil,
				"metadata": map[string]any{"account_id": ""}}
			if released {
				o["subscription"], o["released_subscription"], o["status"] = nil, sub, "released"
			}
			return o
		}
		toM, toS, renewed := xl, xl, xl
		toM.Schedule, toM.ScheduledPlan = "sub_sched_"+subA, "m"
		toS.Schedule, toS.ScheduledPlan = "sub_sched_"+subA, "s"
		again := toM
		again.Schedule = "sub_sched_" + subA + "_2"
		renewed.Plan, renewed.PeriodEnd, renewed.Schedule = "m", trialEnd+30*86400, again.Schedule
		steps = []step{
			{card(fmt.Sprintf("pm_%03d4242", i), sub(toM)), []testEvent{
				ev(1, "subscription_schedule.created", sched(toM.Schedule, subA, false)),
				ev(2, "customer.subscription.updated", subObj(subA, cus)),
			}},
			{sub(toS), []testEvent{ev(3, "subscription_schedule.updated", sched(toS.Schedule, subA, false))}},
			{sub(xl), []testEvent{
				ev(4, "subscription_schedule.released", sched(toS.Schedule, subA, true)),
				ev(5, "customer.subscription.updated", subObj(subA, cus)),
			}},
			{sub(again), []testEvent{
				ev(6, "subscription_schedule.created", sched(again.Schedule, subA, false)),
				ev(7, "subscription_schedule.updated", sched(again.Schedule, subA, false)),
				ev(8, "customer.subscription.updated", subObj(subA, cus)),
			}},
			{sub(renewed), []testEvent{
				ev(9, "subscription_schedule.updated", sched(again.Schedule, subA, false)),
				ev(10, "customer.subscription.updated", subObj(subA, cus)),
				ev(11, "invoice.paid", inv("in_"+subA+"_2", "subscription_cycle", 2900, 2900, subA)),
			}},
			{sub(fakeSub{ID: subA, Status: "active", Plan: "m", Created: 1, PeriodEnd: trialEnd + 30*86400}), []testEvent{
				ev(12, "subscription_schedule.completed", sched(again.Schedule, subA, true)),
				ev(13, "customer.subscription.updated", subObj(subA, cus)),
			}},
		}
	}
	return email, setup, steps
}

// scenarios is how many lives scenario knows; account i lives i%scenarios.
const scenarios = 10

// torture is n accounts on one fake Stripe, each with its scenario's steps.
type torture struct {
	env   *webhookEnv
	steps [][]step // per account
	// events is every event in order with the fake at its final state, for
	// tests that need no timeline (newTorture).
	events []testEvent
}

// newTimeline creates the accounts; the fake holds no state until the steps
// are applied.
func newTimeline(tb testing.TB, n int) *torture {
	tb.Helper()
	fake := newFakeStripe()
	env := newWebhookEnv(tb, fake, true)
	t := &torture{env: env}
	for i := range n {
		email, setup, steps := scenario(i)
		a := newAccount(tb, env.db, email)
		if _, err := env.db.UpdateAccount(a.ID, func(acc *store.Account) error { setup(acc); return nil }); err != nil {
			tb.Fatal(err)
		}
		t.steps = append(t.steps, steps)
	}
	return t
}

// newTorture is newTimeline with every step applied: the fake holds each
// account's final state and events holds every event.
func newTorture(tb testing.TB, n int) *torture {
	tb.Helper()
	t := newTimeline(tb, n)
	for _, steps := range t.steps {
		for _, st := range steps {
			t.events = append(t.events, stepEvents(t.env.fake, st)...)
		}
	}
	return t
}

// TestWebhookTorture: 50 accounts live their scenarios at Stripe, state
// moving on step by step, interleaved across accounts. Each event is sent
// three times, only once the state it describes exists, and the copies are
// handed to 8 concurrent senders in random order while later states keep
// appearing: the handler fetches whatever is current at that moment, often
// newer than the event. The end (accounts and notices) must be what in-order
// delivery, one step at a time, gives.
//
// One notice depends on timing by design: trial_will_end is only posted when
// the fetched subscription is still trialing, so a copy that arrives after
// the trial ended adds none. For accounts whose trial ends in their scenario
// the shuffled run's trial_will_end notices must be a subset of the in-order
// run's; every other notice must match exactly.
func TestWebhookTorture(t *testing.T) {
	const n = 50
	inOrder := newTimeline(t, n)
	for _, steps := range inOrder.steps {
		for _, st := range steps {
			for _, e := range stepEvents(inOrder.env.fake, st) {
				if code := deliver(t, inOrder.env.h, e); code != http.StatusOK {
					t.Fatalf("in order: %s %s: %d", e.ID, e.Type, code)
				}
				inOrder.events = append(inOrder.events, e)
				checkScheduleEdited(t, inOrder.env, e)
			}
		}
	}
	want := inOrder.env.accounts(t)
	wantNotices := inOrder.env.notices(t)

	// The in-order outcome itself must be the right one.
	for email, a := range want {
		var i int
		fmt.Sscanf(email, "user%d@", &i)
		exp := map[int]store.State{0: store.StateActive, 1: store.StateLockedTrialEnded, 2: store.StateActive, 3: store.StateLockedUnpaid,
			4: store.StateCanceling, 5: store.StateTrial, 6: store.StateTrial, 7: store.StateActive, 8: store.StateLockedCanceled,
			9: store.StateActive}[i%scenarios]
		if a.State != exp {
			t.Errorf("%s: in-order state %q, want %q", email, a.State, exp)
		}
		switch i % scenarios {
		case 6:
			if a.Plan != "m" || a.SecondSubscriptionID != "" || !strings.HasSuffix(a.SubscriptionID, "b") {
				t.Errorf("%s: two subscriptions: plan %s sub %s second %q", email, a.Plan, a.SubscriptionID, a.SecondSubscriptionID)
			}
		case 7:
			if a.Plan != "m" || a.PaymentPending || a.ActionURL != "" || a.CardLast4 != "1117" || a.DisputeID == "" || len(a.ExpiredCheckouts) != 1 {
				t.Errorf("%s: access events: %+v", email, a)
			}
		case 8:
			if a.CustomerID != "" || a.DeletedCustomerID == "" || a.SubscriptionID != "" || a.Email != email {
				t.Errorf("%s: customer deleted: %+v", email, a)
			}
		case 9:
			if a.Plan != "m" || a.ScheduleID != "" || a.ScheduledPlan != "" || !a.ScheduledAt.IsZero() {
				t.Errorf("%s: after the schedule: plan %s schedule %q → %q at %v", email, a.Plan, a.ScheduleID, a.ScheduledPlan, a.ScheduledAt)
			}
		}
	}
	for _, n := range wantNotices {
		var i int
		fmt.Sscanf(n, "user%d@", &i)
		if i%scenarios == 5 && strings.Contains(n, " payment_failed ") {
			t.Errorf("notice for another integration's invoice: %s", n)
		}
	}
	for _, kind := range []string{"trial_will_end", "trial_ended", "card_added", "payment_failed", "plan_changed", "upgrade_failed"} {
		if !strings.Contains(strings.Join(wantNotices, "\n"), " "+kind+" ") {
			t.Errorf("no %s notice in %v", kind, wantNotices)
		}
	}

	shuffled := newTimeline(t, n)
	// The order in which the accounts' steps happen at Stripe: each
	// account's in sequence, accounts interleaved at random.
	rng := rand.New(rand.NewPCG(1, 2))
	var schedule []int
	left := make([]int, n)
	for i := range n {
		left[i] = len(shuffled.steps[i])
	}
	for {
		var ready []int
		for i, l := range left {
			if l > 0 {
				ready = append(ready, i)
			}
		}
		if len(ready) == 0 {
			break
		}
		i := ready[rng.IntN(len(ready))]
		schedule = append(schedule, i)
		left[i]--
	}
	var (
		mu    sync.Mutex
		pool  []testEvent // copies sent by Stripe, not yet delivered
		next  = make([]int, n)
		count int
	)
	// take returns the next delivery, first moving Stripe on by a step now
	// and then (always when nothing is left to deliver); false when done.
	take := func() (testEvent, bool) {
		mu.Lock()
		defer mu.Unlock()
		for len(schedule) > 0 && (len(pool) == 0 || rng.IntN(4) == 0) {
			i := schedule[0]
			schedule = schedule[1:]
			for _, e := range stepEvents(shuffled.env.fake, shuffled.steps[i][next[i]]) {
				pool = append(pool, e, e, e)
				count++
			}
			next[i]++
		}
		if len(pool) == 0 {
			return testEvent{}, false
		}
		k := rng.IntN(len(pool))
		e := pool[k]
		pool[k] = pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		return e, true
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(inOrder.events))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e, ok := take(); ok; e, ok = take() {
				if code := deliver(t, shuffled.env.h, e); code != http.StatusOK {
					errs <- fmt.Errorf("%s %s: %d", e.ID, e.Type, code)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := shuffled.env.accounts(t)
	for email, w := range want {
		if g := got[email]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got  %+v\n want %+v", email, g, w)
		}
	}
	trialEnds := func(notice string) bool {
		var i int
		fmt.Sscanf(notice, "user%d@", &i)
		return strings.Contains(notice, " trial_will_end ") && (i%scenarios == 0 || i%scenarios == 1)
	}
	var exact, wantTimed []string
	for _, s := range wantNotices {
		if trialEnds(s) {
			wantTimed = append(wantTimed, s)
		} else {
			exact = append(exact, s)
		}
	}
	var gotExact []string
	for _, s := range shuffled.env.notices(t) {
		switch {
		case !trialEnds(s):
			gotExact = append(gotExact, s)
		case !slices.Contains(wantTimed, s):
			t.Errorf("trial_will_end notice that in-order delivery does not give: %s", s)
		}
	}
	if !reflect.DeepEqual(gotExact, exact) {
		t.Errorf("notices differ:\n got  %v\n want %v", gotExact, exact)
	}
	st := shuffled.env.svc.WebhookStats()
	if count != len(inOrder.events) || st.Duplicates != uint64(2*count) || st.Processed+st.Ignored != uint64(count) {
		t.Errorf("stats %+v for %d events (%d in order)", st, count, len(inOrder.events))
	}
}

// checkScheduleEdited: in scenario 9, the Dashboard's edit of the schedule
// (subscription_schedule.updated, no subscription event) is the scheduled
// change the account shows at once.
func checkScheduleEdited(t *testing.T, env *webhookEnv, e testEvent) {
	t.Helper()
	var i int
	if n, _ := fmt.Sscanf(e.ID, "evt_%03d_03", &i); n != 1 || i%scenarios != 9 || !strings.HasSuffix(e.ID, "_03") {
		return
	}
	a, err := env.db.AccountByCustomer(fmt.Sprintf("cus_%03d", i))
	if err != nil {
		t.Fatal(err)
	}
	if a.Plan != "xl" || a.ScheduledPlan != "s" || a.ScheduledAt.Unix() != 1702592000 {
		t.Errorf("after the Dashboard's schedule edit: plan %s then %q at %v", a.Plan, a.ScheduledPlan, a.ScheduledAt)
	}
}

// TestWebhookRejects: each bad delivery gets its status code and leaves the
// accounts unchanged.
func TestWebhookRejects(t *testing.T) {
	tt := newTorture(t, 5)
	env := tt.env
	before := env.accounts(t)
	good := tt.events[0].payload(stripe.APIVersion)
	now := time.Now()
	big := append([]byte(`{"id":"evt_big","pad":"`), bytes.Repeat([]byte("x"), 2<<20)...)
	unknownCus := testEvent{ID: "evt_unknown_cus", Type: "customer.subscription.updated", Obj: subObj("sub_x", "cus_nobody")}.payload(stripe.APIVersion)
	unknownType := testEvent{ID: "evt_unknown_type", Type: "charge.refunded", Obj: map[string]any{"id": "ch_1", "object": "charge"}}.payload(stripe.APIVersion)
	noCustomer := testEvent{ID: "evt_nocus", Type: "checkout.session.completed", Obj: map[string]any{"id": "cs_1", "object": "checkout.session", "mode": "setup", "customer": nil}}.payload(stripe.APIVersion)
	noSub := testEvent{ID: "evt_nosub", Type: "invoice.paid", Obj: map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_000", "subscription": nil}}.payload(stripe.APIVersion)
	tt.env.fake.setSub(fakeSub{ID: "sub_other", Customer: "cus_000", Status: "active", Created: 3, PeriodEnd: 1702592000, Foreign: true})
	foreign := testEvent{ID: "evt_foreign", Type: "customer.subscription.created", Obj: subObj("sub_other", "cus_000")}.payload(stripe.APIVersion)
	foreignInv := testEvent{ID: "evt_foreign_inv", Type: "invoice.payment_failed", Obj: map[string]any{"id": "in_other", "object": "invoice", "customer": "cus_000", "subscription": "sub_other", "amount_due": 500, "currency": "usd"}}.payload(stripe.APIVersion)
	oldVersion := tt.events[1].payload("2020-08-27")
	truncated := good[:len(good)/2]
	cases := []struct {
		name   string
		method string
		body   []byte
		sig    string
		want   int
	}{
		{"bad signature", "POST", good, sign(good, "whsec_other", now), 400},
		{"stale timestamp", "POST", good, sign(good, testSecret, now.Add(-10*time.Minute)), 400},
		{"unsigned", "POST", good, "", 400},
		{"garbage header", "POST", good, "t=abc,v1=zz", 400},
		{"truncated JSON", "POST", truncated, sign(truncated, testSecret, now), 400},
		{"2 MiB body", "POST", big, sign(big, testSecret, now), 413},
		{"api version mismatch", "POST", oldVersion, sign(oldVersion, testSecret, now), 400},
		{"GET", "GET", nil, "", 405},
		{"unknown type", "POST", unknownType, sign(unknownType, testSecret, now), 200},
		{"unknown customer", "POST", unknownCus, sign(unknownCus, testSecret, now), 200},
		{"checkout without customer", "POST", noCustomer, sign(noCustomer, testSecret, now), 200},
		{"invoice without subscription", "POST", noSub, sign(noSub, testSecret, now), 200},
		{"another integration's subscription", "POST", foreign, sign(foreign, testSecret, now), 200},
		{"another integration's invoice", "POST", foreignInv, sign(foreignInv, testSecret, now), 200},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "/webhooks/stripe", bytes.NewReader(c.body))
		if c.sig != "" {
			req.Header.Set("Stripe-Signature", c.sig)
		}
		rec := httptest.NewRecorder()
		env.h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: status %d (%q), want %d", c.name, rec.Code, rec.Body.String(), c.want)
		}
		if strings.Contains(rec.Body.String(), "{") {
			t.Errorf("%s: body echoes JSON: %q", c.name, rec.Body.String())
		}
		if after := env.accounts(t); !reflect.DeepEqual(after, before) {
			t.Fatalf("%s changed the accounts", c.name)
		}
	}
	// Ignored events are logged as such, rejected ones not at all.
	evs, err := env.db.Events(0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.EventStatus{}
	for _, e := range evs {
		got[e.ID] = e.Status
		if strings.HasPrefix(e.ID, "evt_foreign") && e.Error != ignoreForeign {
			t.Errorf("%s recorded with reason %q, want %q", e.ID, e.Error, ignoreForeign)
		}
	}
	want := map[string]store.EventStatus{"evt_unknown_cus": "ignored", "evt_unknown_type": "ignored", "evt_nocus": "ignored", "evt_nosub": "ignored",
		"evt_foreign": "ignored", "evt_foreign_inv": "ignored"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event log %v, want %v", got, want)
	}
	if ns := env.notices(t); len(ns) != 0 {
		t.Errorf("notices after rejected and ignored events: %v", ns)
	}
	// No secret configured: nothing is accepted, not even a body signed with "".
	unset := env.svc.WebhookHandler("", WebhookOptions{})
	if code := post(t, unset, unknownType, sign(unknownType, "", now)); code != http.StatusServiceUnavailable {
		t.Errorf("empty secret: status %d", code)
	}
	// The version check is an option.
	lenient := env.svc.WebhookHandler(testSecret, WebhookOptions{AllowAnyAPIVersion: true})
	if code := post(t, lenient, oldVersion, sign(oldVersion, testSecret, now)); code != 200 {
		t.Errorf("AllowAnyAPIVersion: status %d", code)
	}
}

// failingStore makes a transaction fail after its writes are done but
// before it commits, i.e. mid-event: the store must roll everything back.
type failingStore struct {
	accountStore
	fail atomic.Int32
}

var errInjected = errors.New("injected store failure")

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if f.fail.Load() > 0 {
		f.fail.Add(-1)
		return f.accountStore.Update(ctx, func(tx store.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errInjected
		})
	}
	return f.accountStore.Update(ctx, fn)
}

func TestWebhookStoreFailure(t *testing.T) {
	tt := newTorture(t, 1) // account 0: trial → card → active
	env := tt.env
	fs := &failingStore{accountStore: env.db}
	env.svc.db = fs
	before := env.accounts(t)
	e := tt.events[0]
	fs.fail.Store(1)
	if code := deliver(t, env.h, e); code != http.StatusInternalServerError {
		t.Fatalf("failing store: status %d, want 500", code)
	}
	if after := env.accounts(t); !reflect.DeepEqual(after, before) {
		t.Fatal("a failed commit changed the account")
	}
	if done, err := env.db.EventProcessed(e.ID); err != nil || done {
		t.Fatalf("failed event recorded as processed: %v %v", done, err)
	}
	// Stripe down: 503, recorded as failed, not processed.
	env.fake.failNext.Store(1)
	if code := deliver(t, env.h, e); code != http.StatusServiceUnavailable {
		t.Fatalf("Stripe down: status %d, want 503", code)
	}
	// Redelivery heals.
	if code := deliver(t, env.h, e); code != http.StatusOK {
		t.Fatalf("redelivery: status %d", code)
	}
	a := env.accounts(t)["user000@example.com"]
	if a.State != store.StateActive || !a.HasCard {
		t.Fatalf("after redelivery: %+v", a)
	}
	if code := deliver(t, env.h, e); code != http.StatusOK {
		t.Fatalf("duplicate: status %d", code)
	}
	evs, _ := env.db.Events(0)
	if len(evs) != 1 || evs[0].Status != store.EventStatusProcessed || evs[0].Duplicates != 1 {
		t.Fatalf("event log %+v", evs)
	}
}

// FuzzWebhook feeds arbitrary, validly signed bodies through the listener:
// it must answer with a status code, never panic or 5xx on a healthy store.
func FuzzWebhook(f *testing.F) {
	fake := newFakeStripe()
	env := newWebhookEnv(f, fake, true)
	for i := range 5 {
		email, setup, steps := scenario(i)
		a := newAccount(f, env.db, email)
		if _, err := env.db.UpdateAccount(a.ID, func(acc *store.Account) error { setup(acc); return nil }); err != nil {
			f.Fatal(err)
		}
		for _, st := range steps {
			for _, e := range stepEvents(fake, st) {
				f.Add(e.payload(stripe.APIVersion))
			}
		}
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"id":"evt_1","type":"invoice.paid","api_version":"2023-10-16","data":{"object":null}}`,
		`{"id":"evt_2","type":"checkout.session.completed","api_version":"2023-10-16","data":{"object":{"customer":{"id":5},"mode":"setup"}}}`,
		`{"id":"evt_3","type":"customer.subscription.updated","api_version":"2023-10-16","data":{"object":{"object":"subscription","id":"sub_000a","customer":["x"]}}}`,
		`{"id":"evt_4","type":"customer.updated","api_version":"2023-10-16","data":{"object":{"object":"customer","id":"cus_000","metadata":{"account_id":7}}}}`,
		`{"id":"evt_5","type":"invoice.payment_failed","api_version":"2023-10-16","data":{"object":{"subscription":"sub_003a","customer":"cus_003","amount_due":-1}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code := post(t, env.h, body, sign(body, testSecret, time.Now()))
		switch code {
		case 200, 400, 413:
		case 503:
			// The body named a Stripe object the fake does not know in a
			// way the handler treats as a temporary failure: never for a
			// missing object.
			t.Fatalf("503 for %q", body)
		default:
			t.Fatalf("status %d for %q", code, body)
		}
	})
}

func TestWebhookContextCancel(t *testing.T) {
	// A request whose client went away still answers (the handler does not
	// crash on a canceled context) and leaves nothing half-written.
	tt := newTorture(t, 1)
	p := tt.events[0].payload(stripe.APIVersion)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(p)).WithContext(ctx)
	req.Header.Set("Stripe-Signature", sign(p, testSecret, time.Now()))
	rec := httptest.NewRecorder()
	tt.env.h.ServeHTTP(rec, req)
	if rec.Code != 200 && rec.Code != 503 {
		t.Fatalf("status %d", rec.Code)
	}
}

// TestWebhookSameCustomerInOrder: event A fetches the subscription, then
// stalls; the subscription moves on and event B fetches and commits the
// newer state. A's older snapshot must not be committed over B's: the
// handler serializes fetch and commit per customer. A's fetch is held until
// B commits, or (when B is, correctly, waiting for A) for half a second.
func TestWebhookSameCustomerInOrder(t *testing.T) {
	fake := newFakeStripe()
	env := newWebhookEnv(t, fake, true)
	a := newAccount(t, env.db, "order@example.com")
	if _, err := env.db.UpdateAccount(a.ID, func(acc *store.Account) error {
		acc.CustomerID, acc.Plan, acc.State = "cus_o", "s", store.StateNone
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fake.setCard("cus_o", "")
	fake.setSub(fakeSub{ID: "sub_o", Customer: "cus_o", Status: "trialing", Plan: "s", Created: 1, TrialEnd: 1702592000, PeriodEnd: 1702592000})

	aFetched, bCommitted := fake.holdFirstFetch() // the first fetch is A's
	aDone := make(chan int)
	go func() {
		aDone <- deliver(t, env.h, testEvent{ID: "evt_o_a", Type: "customer.subscription.created", Obj: subObj("sub_o", "cus_o")})
	}()
	<-aFetched
	fake.setCard("cus_o", "pm_o4242")
	fake.setSub(fakeSub{ID: "sub_o", Customer: "cus_o", Status: "active", Plan: "s", Created: 1, TrialEnd: 1702592000, PeriodEnd: 1705184000})
	if code := deliver(t, env.h, testEvent{ID: "evt_o_b", Type: "customer.subscription.updated", Obj: subObj("sub_o", "cus_o")}); code != http.StatusOK {
		t.Fatalf("B: %d", code)
	}
	close(bCommitted)
	if code := <-aDone; code != http.StatusOK {
		t.Fatalf("A: %d", code)
	}
	got, _ := env.db.Account(a.ID)
	if got.State != store.StateActive || !got.HasCard {
		t.Fatalf("final state is the older snapshot's: %s", got.AuditSummary())
	}
}

// A plan action commits Stripe's reply after any webhook of the same
// customer that fetched before the action's write: webhook A fetches the
// old subscription, the customer cancels at period end, A commits. Without
// ordering, A's older snapshot would overwrite the cancel.
func TestPlanActionNotOverwrittenByEarlierFetch(t *testing.T) {
	fake := newFakeStripe()
	env := newWebhookEnv(t, fake, true)
	a := newAccount(t, env.db, "act@example.com")
	if _, err := env.db.UpdateAccount(a.ID, func(acc *store.Account) error {
		acc.CustomerID, acc.SubscriptionID, acc.SubscriptionStatus = "cus_p", "sub_p", "active"
		acc.Plan, acc.State = "s", store.StateActive
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fake.setCard("cus_p", "pm_p4242")
	fake.setSub(fakeSub{ID: "sub_p", Customer: "cus_p", Status: "active", Plan: "s", Created: 1, PeriodEnd: 1705184000})

	aFetched, actionDone := fake.holdFirstFetch() // A's fetch: hold it until the action is done
	aDone := make(chan int)
	go func() {
		aDone <- deliver(t, env.h, testEvent{ID: "evt_p_a", Type: "customer.subscription.updated", Obj: subObj("sub_p", "cus_p")})
	}()
	<-aFetched
	if _, err := env.svc.CancelAtPeriodEnd(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	close(actionDone)
	if code := <-aDone; code != http.StatusOK {
		t.Fatalf("A: %d", code)
	}
	got, _ := env.db.Account(a.ID)
	if !got.CancelAtPeriodEnd || got.State != store.StateCanceling {
		t.Fatalf("the customer's cancel was overwritten by an older snapshot: %s", got.AuditSummary())
	}
}
