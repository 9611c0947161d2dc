package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
)

// trialEnv is billing over the fake Stripe with a billing clock the test
// moves by hand, for the trial claim's grace period.
type trialEnv struct {
	fake *fakeStripe
	db   *store.DB
	svc  *Service
	*testkit.Clock
}

func newTrialEnv(tb testing.TB) *trialEnv {
	tb.Helper()
	e := &trialEnv{fake: newFakeStripe(), db: openStore(tb, true), Clock: testkit.NewClock(t0)}
	svc, err := New(Config{API: e.fake.api(), Store: e.db, Now: e.Now, Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range svc.cat.Plans() {
		if !p.Free() {
			svc.prices[p.LookupKey] = "price_" + p.ID // the fake lists no prices
		}
	}
	e.svc = svc
	return e
}

// account registers email; with customer it already has a Stripe customer
// at the fake.
func (e *trialEnv) account(tb testing.TB, email string, customer bool) store.Account {
	tb.Helper()
	a := newAccount(tb, e.db, email)
	if !customer {
		return a
	}
	cus := "cus_" + strings.Split(email, "@")[0]
	e.fake.setCard(cus, "")
	a, err := e.db.UpdateAccount(a.ID, func(acc *store.Account) error { acc.CustomerID = cus; return nil })
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func (e *trialEnv) get(tb testing.TB, id string) store.Account {
	tb.Helper()
	a, err := e.db.Account(id)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// pendingClaim chooses plan s while Stripe answers the subscription request
// with fault, which must leave the trial claimed and pending.
func (e *trialEnv) pendingClaim(tb testing.TB, a store.Account, fault createFault) store.Account {
	tb.Helper()
	e.fake.createFaults = []createFault{fault}
	_, err := e.svc.ChoosePlan(context.Background(), a.ID, "s")
	if !errors.Is(err, ErrTrialPending) || !strings.Contains(Message(err), "still being set up") {
		tb.Fatalf("ChoosePlan without Stripe's answer: %v (%q)", err, Message(err))
	}
	got := e.get(tb, a.ID)
	if !TrialClaimPending(got) || !got.TrialClaimedAt.Equal(e.Now()) {
		tb.Fatalf("claim after no answer: used %v claimed at %v, want pending since %v", got.TrialUsed, got.TrialClaimedAt, e.Now())
	}
	return got
}

// wantTrialKeys fails unless the fake saw exactly the idempotency keys of
// the account's trial attempts, in order.
func (e *trialEnv) wantTrialKeys(tb testing.TB, id string, attempts ...int) {
	tb.Helper()
	var want []string
	for _, n := range attempts {
		if n == 0 {
			want = append(want, "portal-trial-"+id)
		} else {
			want = append(want, fmt.Sprintf("portal-trial-%s-%d", id, n))
		}
	}
	if keys := e.fake.keys(); !slices.Equal(keys, want) {
		tb.Fatalf("idempotency keys %v", keys)
	}
}

// TestTrialRefusedReleased: a subscription request Stripe refused created
// nothing: the claim is released at once, and the retry is a new request.
func TestTrialRefusedReleased(t *testing.T) {
	e := newTrialEnv(t)
	a := e.account(t, "refused@example.com", true)
	e.fake.createFaults = []createFault{createRefused}
	_, err := e.svc.ChoosePlan(context.Background(), a.ID, "s")
	if err == nil || errors.Is(err, ErrTrialPending) || !strings.Contains(Message(err), "refused") {
		t.Fatalf("ChoosePlan refused by Stripe: %v (%q)", err, Message(err))
	}
	if got := e.get(t, a.ID); got.TrialUsed || !got.TrialClaimedAt.IsZero() || got.TrialAttempt != 1 {
		t.Fatalf("after the refusal: used %v claimed at %v attempt %d", got.TrialUsed, got.TrialClaimedAt, got.TrialAttempt)
	}
	got, err := e.svc.ChoosePlan(context.Background(), a.ID, "m")
	if err != nil || got.State != store.StateTrial || got.Plan != "m" {
		t.Fatalf("retry: %v, %s", err, got.AuditSummary())
	}
	e.wantTrialKeys(t, a.ID, 0, 1)
}

// TestTrialUnansweredReleasedAfterGrace: Stripe answers 500 and creates
// nothing. The claim holds (ErrTrialPending, never "add a card") for the
// grace period without asking Stripe; then ChoosePlan finds nothing at
// Stripe, releases the claim and starts the trial under a new key (the old
// one would replay the 500).
func TestTrialUnansweredReleasedAfterGrace(t *testing.T) {
	e := newTrialEnv(t)
	ctx := context.Background()
	a := e.account(t, "down@example.com", true)
	claim := e.pendingClaim(t, a, createDown)
	if claim.TrialAttempt != 0 {
		t.Fatalf("attempt %d after the first try", claim.TrialAttempt)
	}
	for _, plan := range []string{"s", "m"} {
		if _, err := e.svc.ChoosePlan(ctx, a.ID, plan); !errors.Is(err, ErrTrialPending) {
			t.Fatalf("retry (%s) at once: %v, want ErrTrialPending", plan, err)
		}
	}
	e.Add(trialClaimGrace - time.Second)
	if _, err := e.svc.ChoosePlan(ctx, a.ID, "s"); !errors.Is(err, ErrTrialPending) {
		t.Fatalf("retry within the grace: %v, want ErrTrialPending", err)
	}
	if n := e.fake.lists.Load(); n != 0 {
		t.Fatalf("Stripe asked %d times within the grace", n)
	}
	e.Add(time.Second)
	got, err := e.svc.ChoosePlan(ctx, a.ID, "s")
	if err != nil {
		t.Fatalf("ChoosePlan after the grace: %v (%s)", err, Message(err))
	}
	if got.State != store.StateTrial || got.Plan != "s" || !got.TrialUsed || !got.TrialClaimedAt.IsZero() || got.TrialAttempt != 1 || got.TrialEnd.IsZero() {
		t.Fatalf("after the grace: %s claimed at %v attempt %d", got.AuditSummary(), got.TrialClaimedAt, got.TrialAttempt)
	}
	e.wantTrialKeys(t, a.ID, 0, 1)
	if subs := e.fake.subscriptionIDs(a.CustomerID); len(subs) != 1 || subs[0] != got.SubscriptionID {
		t.Fatalf("subscriptions at Stripe %v, account's %s", subs, got.SubscriptionID)
	}
}

// TestTrialAnswerLostAdopted: Stripe created the subscription but its answer
// was lost. After the grace, ChoosePlan or the reconciler finds it and adopts
// it: trial, no release, no second subscription.
func TestTrialAnswerLostAdopted(t *testing.T) {
	for _, c := range []struct {
		name   string
		fault  createFault
		settle func(e *trialEnv, id string) error
	}{
		{"500, then ChoosePlan", createLost500, func(e *trialEnv, id string) error {
			_, err := e.svc.ChoosePlan(context.Background(), id, "s")
			return err
		}},
		{"connection lost, then ChoosePlan of another plan", createLostConn, func(e *trialEnv, id string) error {
			_, err := e.svc.ChoosePlan(context.Background(), id, "m")
			return err
		}},
		{"connection lost, then the reconciler", createLostConn, func(e *trialEnv, id string) error {
			if synced, drift := e.svc.ReconcileOnce(context.Background(), time.Hour); synced != 1 || drift != 1 {
				return fmt.Errorf("reconcile: synced %d drift %d", synced, drift)
			}
			return nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTrialEnv(t)
			a := e.account(t, "lost@example.com", true)
			e.pendingClaim(t, a, c.fault)
			subs := e.fake.subscriptionIDs(a.CustomerID)
			if len(subs) != 1 {
				t.Fatalf("subscriptions at Stripe: %v", subs)
			}
			if _, err := e.svc.ChoosePlan(context.Background(), a.ID, "s"); !errors.Is(err, ErrTrialPending) {
				t.Fatalf("retry at once: %v, want ErrTrialPending", err)
			}
			e.Add(trialClaimGrace)
			if err := c.settle(e, a.ID); err != nil {
				t.Fatalf("%v (%s)", err, Message(err))
			}
			got := e.get(t, a.ID)
			if got.State != store.StateTrial || got.SubscriptionID != subs[0] || !got.TrialUsed || !got.TrialClaimedAt.IsZero() ||
				got.TrialAttempt != 0 || got.TrialEnd.IsZero() {
				t.Fatalf("after settling: %s claimed at %v attempt %d", got.AuditSummary(), got.TrialClaimedAt, got.TrialAttempt)
			}
			if now := e.fake.subscriptionIDs(a.CustomerID); !slices.Equal(now, subs) {
				t.Fatalf("subscriptions at Stripe %v, want %v", now, subs)
			}
			e.wantTrialKeys(t, a.ID, 0)
		})
	}
}

// TestReconcileSettlesStaleClaim: the reconciler leaves a young claim alone,
// releases nothing when the listing fails, and releases a stale claim
// Stripe has nothing for, with an audit entry; the customer's next choice
// then starts the trial.
func TestReconcileSettlesStaleClaim(t *testing.T) {
	e := newTrialEnv(t)
	ctx := context.Background()
	a := e.account(t, "gone@example.com", true)
	claim := e.pendingClaim(t, a, createDown)
	kept := func(what string) {
		t.Helper()
		if got := e.get(t, a.ID); !TrialClaimPending(got) || !got.TrialClaimedAt.Equal(claim.TrialClaimedAt) || got.TrialAttempt != 0 {
			t.Fatalf("%s: used %v claimed at %v attempt %d; want the claim kept", what, got.TrialUsed, got.TrialClaimedAt, got.TrialAttempt)
		}
	}
	// Never synced: the reconciler resyncs it, but the claim is young.
	if synced, _ := e.svc.ReconcileOnce(ctx, time.Hour); synced != 1 {
		t.Fatalf("young claim: synced %d", synced)
	}
	kept("young claim")
	e.Add(trialClaimGrace)
	e.fake.listFail.Store(1)
	if synced, _ := e.svc.ReconcileOnce(ctx, time.Hour); synced != 0 {
		t.Fatalf("listing failed: synced %d", synced)
	}
	kept("failed listing")
	// Synced a moment ago, yet resynced: the stale claim is reason enough.
	synced, drift := e.svc.ReconcileOnce(ctx, time.Hour)
	if synced != 1 || drift != 1 {
		t.Fatalf("stale claim: synced %d drift %d", synced, drift)
	}
	got := e.get(t, a.ID)
	if got.TrialUsed || !got.TrialClaimedAt.IsZero() || got.TrialAttempt != 1 || got.State != store.StateNone {
		t.Fatalf("released: %s claimed at %v attempt %d", got.AuditSummary(), got.TrialClaimedAt, got.TrialAttempt)
	}
	audit, err := e.db.Audit(a.ID, 0)
	if err != nil || len(audit) != 1 || !strings.Contains(audit[0].Before, "trial_used=true") || !strings.Contains(audit[0].After, "trial_used=false") {
		t.Fatalf("audit: %v %+v", err, audit)
	}
	if synced, _ := e.svc.ReconcileOnce(ctx, time.Hour); synced != 0 {
		t.Fatalf("released claim resynced again: %d", synced)
	}
	if got, err = e.svc.ChoosePlan(ctx, a.ID, "m"); err != nil || got.State != store.StateTrial {
		t.Fatalf("ChoosePlan after the release: %v, %s", err, got.AuditSummary())
	}
	e.wantTrialKeys(t, a.ID, 0, 1)
}

// TestStaleClaimByListing: what the customer's subscriptions at Stripe
// mean for a stale claim. Only subscriptions of the account count; one that
// had a trial, or is live, keeps the claim (and is adopted); a dead one
// without a trial cannot be the claimed trial.
func TestStaleClaimByListing(t *testing.T) {
	trialEndAt := t0.Add(30 * day).Unix()
	for _, c := range []struct {
		name     string
		sub      *fakeSub // the customer's only subscription at Stripe
		released bool
		state    store.State
	}{
		{"none", nil, true, store.StateNone},
		{"another integration's live trial", &fakeSub{Status: "trialing", Foreign: true, TrialEnd: trialEndAt}, true, store.StateNone},
		{"own, canceled, never a trial", &fakeSub{Status: "canceled", Plan: "s"}, true, store.StateNone},
		{"own, trialing", &fakeSub{Status: "trialing", Plan: "s", TrialEnd: trialEndAt}, false, store.StateTrial},
		{"own, trial ended and canceled", &fakeSub{Status: "canceled", Plan: "s", TrialEnd: trialEndAt}, false, store.StateLockedCanceled},
		{"own, active without a trial", &fakeSub{Status: "active", Plan: "m"}, false, store.StateActive},
		{"made for the account, price outside the catalog", &fakeSub{Status: "trialing", Foreign: true, TrialEnd: trialEndAt}, false, store.StateTrial},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTrialEnv(t)
			a := e.account(t, "listed@example.com", true)
			a, err := e.db.UpdateAccount(a.ID, func(acc *store.Account) error {
				acc.TrialUsed, acc.TrialClaimedAt = true, t0 // a claim a stopped process left
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.sub != nil {
				s := *c.sub
				s.ID, s.Customer, s.Created = "sub_listed", a.CustomerID, t0.Unix()
				if !s.Foreign || strings.HasPrefix(c.name, "made for") {
					s.AccountID = a.ID
				}
				e.fake.setSub(s)
			}
			e.Add(trialClaimGrace)
			got, err := e.svc.Resync(context.Background(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.TrialUsed == c.released || !got.TrialClaimedAt.IsZero() || got.TrialAttempt != map[bool]int{true: 1}[c.released] || got.State != c.state {
				t.Fatalf("%s claimed at %v attempt %d; want released %v, state %s", got.AuditSummary(), got.TrialClaimedAt, got.TrialAttempt, c.released, c.state)
			}
		})
	}
}

// TestStaleClaimConcurrentChoosePlan: two sessions choose a plan at once
// after a claim went stale; at most one trial subscription is made.
func TestStaleClaimConcurrentChoosePlan(t *testing.T) {
	e := newTrialEnv(t)
	for i := range 8 {
		a := e.account(t, fmt.Sprintf("race%d@example.com", i), true)
		e.pendingClaim(t, a, createDown)
		e.Add(trialClaimGrace)
		ok, _ := chooseAtOnce(t, e.svc, a.ID)
		subs := e.fake.subscriptionIDs(a.CustomerID)
		got := e.get(t, a.ID)
		if ok == 0 || len(subs) != 1 || got.SubscriptionID != subs[0] || got.State != store.StateTrial || got.TrialAttempt != 1 {
			t.Fatalf("round %d: %d succeeded; subscriptions %v; account %s attempt %d", i, ok, subs, got.AuditSummary(), got.TrialAttempt)
		}
	}
}

// hookStore runs before(n) ahead of the n-th UpdateAccount or Update call.
type hookStore struct {
	accountStore
	calls  atomic.Int32
	before func(n int32)
}

func (h *hookStore) UpdateAccount(id string, fn func(*store.Account) error) (store.Account, error) {
	h.before(h.calls.Add(1))
	return h.accountStore.UpdateAccount(id, fn)
}

// Update counts as an UpdateAccount call: commits of the service go through it.
func (h *hookStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	h.before(h.calls.Add(1))
	return h.accountStore.Update(ctx, fn)
}

// TestStaleClaimReleaseIsConditional forces the interleaving the release's
// re-check exists for. Session B judges a stale claim (left by a stopped
// process before the customer was even created, so there is no customer
// lock to share) and, just before B commits the release, session A
// releases the same claim, claims the trial anew and sends its request. B
// must not release A's claim: it would start a second trial.
func TestStaleClaimReleaseIsConditional(t *testing.T) {
	e := newTrialEnv(t)
	ctx := context.Background()
	a := e.account(t, "interleaved@example.com", false)
	if _, err := e.db.UpdateAccount(a.ID, func(acc *store.Account) error {
		acc.TrialUsed, acc.TrialClaimedAt = true, t0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.Add(trialClaimGrace)
	inCreate, release := holdFirst(&e.fake.created)
	errA := make(chan error, 1)
	var started atomic.Bool
	// B's calls: 1 its failed claim, 2 its resync's commit.
	e.svc.db = &hookStore{accountStore: e.db, before: func(n int32) {
		if n != 2 {
			return
		}
		started.Store(true)
		go func() {
			_, err := e.svc.ChoosePlan(ctx, a.ID, "s")
			errA <- err
		}()
		select {
		case <-inCreate:
		case <-time.After(20 * time.Second): // guards against a hang only
			t.Error("session A never sent its subscription request")
		}
	}}
	_, errB := e.svc.ChoosePlan(ctx, a.ID, "m")
	close(release)
	if !started.Load() {
		t.Fatalf("session B never settled the stale claim: %v", errB)
	}
	if err := <-errA; err != nil {
		t.Fatalf("session A: %v", err)
	}
	if !errors.Is(errB, ErrTrialPending) {
		t.Errorf("session B: %v, want ErrTrialPending", errB)
	}
	got := e.get(t, a.ID)
	subs := e.fake.subscriptionIDs(got.CustomerID)
	if len(subs) != 1 || got.SubscriptionID != subs[0] || got.State != store.StateTrial || got.Plan != "s" || got.TrialAttempt != 1 {
		t.Fatalf("subscriptions %v (keys %v); account %s attempt %d", subs, e.fake.keys(), got.AuditSummary(), got.TrialAttempt)
	}
}

// TestClaimInFlightNotStale: while this process's trial request is still
// running, its claim is not stale whatever the clock says (the sandbox clock
// can jump a month in a moment): the reconciler and another session leave
// it alone.
func TestClaimInFlightNotStale(t *testing.T) {
	e := newTrialEnv(t)
	ctx := context.Background()
	a := e.account(t, "slow@example.com", true)
	sending, release := holdFirst(&e.fake.sending)
	errA := make(chan error, 1)
	go func() {
		_, err := e.svc.ChoosePlan(ctx, a.ID, "s")
		errA <- err
	}()
	<-sending
	e.Add(31 * day)
	e.svc.ReconcileOnce(ctx, time.Hour)
	if got := e.get(t, a.ID); !TrialClaimPending(got) || got.TrialAttempt != 0 {
		t.Errorf("reconciled while the request ran: used %v claimed at %v attempt %d", got.TrialUsed, got.TrialClaimedAt, got.TrialAttempt)
	}
	if _, err := e.svc.ChoosePlan(ctx, a.ID, "m"); !errors.Is(err, ErrTrialPending) {
		t.Errorf("another session while the request ran: %v, want ErrTrialPending", err)
	}
	close(release)
	if err := <-errA; err != nil {
		t.Fatalf("the running request: %v", err)
	}
	got := e.get(t, a.ID)
	if subs := e.fake.subscriptionIDs(a.CustomerID); len(subs) != 1 || got.State != store.StateTrial || got.TrialAttempt != 0 {
		t.Fatalf("subscriptions %v; account %s attempt %d", subs, got.AuditSummary(), got.TrialAttempt)
	}
}
