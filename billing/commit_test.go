package billing

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/portal/portal/store"
)

// TestWebhookFailedCommitLeavesNothing fails the commit of every event of
// an account's life (trial, card, payment) after all its writes were made:
// each time nothing may be visible, neither the account update nor the
// event record nor a notice nor a feed entry, and the reply must be 5xx so
// Stripe redelivers. The redelivery then records it all, notices included.
func TestWebhookFailedCommitLeavesNothing(t *testing.T) {
	tt := newTorture(t, 1)
	env := tt.env
	fs := &failingStore{accountStore: env.db}
	env.svc.db = fs
	ctx := context.Background()
	for _, e := range tt.events {
		accts, notes := env.accounts(t), env.notices(t)
		seq, err := env.db.LastSeq(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		fs.fail.Store(1)
		code := deliver(t, env.h, e)
		if fs.fail.Load() != 0 {
			// Nothing to commit (a duplicate or an ignored event took
			// another path): deliver it normally.
			fs.fail.Store(0)
		} else {
			if code != http.StatusInternalServerError {
				t.Fatalf("%s %s: failed commit answered %d, want 500", e.ID, e.Type, code)
			}
			if got := env.accounts(t); !reflect.DeepEqual(got, accts) {
				t.Fatalf("%s: a failed commit changed the account", e.Type)
			}
			if got := env.notices(t); !slices.Equal(got, notes) {
				t.Fatalf("%s: a failed commit left notices %v (before %v)", e.Type, got, notes)
			}
			if done, err := env.db.EventProcessed(e.ID); err != nil || done {
				t.Fatalf("%s: failed event recorded as processed (%v)", e.Type, err)
			}
			if now, _ := env.db.LastSeq(ctx, ""); now != seq {
				t.Fatalf("%s: a failed commit moved the change feed %d → %d", e.Type, seq, now)
			}
		}
		if code := deliver(t, env.h, e); code != http.StatusOK {
			t.Fatalf("%s %s: redelivery answered %d", e.ID, e.Type, code)
		}
	}
	if notes := env.notices(t); len(notes) == 0 {
		t.Fatal("the scenario raised no notice: the test proves nothing about them")
	}
}

// TestChosenPlanSurvivesRestart: a paid plan chosen after the trial was used
// waits for a card. That choice is kept in the store, so the card link made
// by a restarted portal still sells the chosen plan, not the account's old
// one.
func TestChosenPlanSurvivesRestart(t *testing.T) {
	l := newLifecycle(t)
	ctx := context.Background()
	a := newAccount(t, l.db, "again@example.com")
	if _, err := l.db.UpdateAccount(a.ID, func(x *store.Account) error {
		x.TrialUsed, x.Plan, x.State = true, PlanFree, store.StateFree
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.svc.ChoosePlan(ctx, a.ID, "m"); !errors.Is(err, ErrCardRequired) {
		t.Fatalf("ChoosePlan after the trial: %v", err)
	}
	if p, err := l.db.PendingCheckout(a.ID); err != nil || p.Plan != "m" {
		t.Fatalf("pending checkout %+v, %v", p, err)
	}
	restarted, err := New(Config{API: l.svc.api, Store: l.db, Now: l.sb.Now, PublicURL: l.srv.URL, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	link, err := restarted.CardLink(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := l.db.PendingCheckoutBySession(link.SessionID); err != nil || p.Plan != "m" || p.AccountID != a.ID {
		t.Fatalf("pending checkout of session %s: %+v, %v", link.SessionID, p, err)
	}
	l.payCard(link, "4242424242424242")
	got := l.waitState(a.ID, store.StateActive)
	if got.Plan != "m" {
		t.Fatalf("after paying the restarted portal's card link: %s, want plan m", got.AuditSummary())
	}
	// The bought choice is no longer pending.
	if _, err := l.db.PendingCheckout(a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pending checkout after the subscription started: %v", err)
	}
	// Choosing a paid plan again and then free forgets it too.
	b := newAccount(t, l.db, "other@example.com")
	if _, err := l.db.UpdateAccount(b.ID, func(x *store.Account) error { x.TrialUsed = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.ChoosePlan(ctx, b.ID, "xl"); !errors.Is(err, ErrCardRequired) {
		t.Fatal(err)
	}
	if _, err := restarted.ChoosePlan(ctx, b.ID, PlanFree); err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.PendingCheckout(b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pending checkout after choosing free: %v", err)
	}
}
