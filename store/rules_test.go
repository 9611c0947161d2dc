package store

import (
	"testing"
	"time"
)

func TestAccountRules(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sub := func(state State, status string) Account {
		return Account{Plan: "m", State: state, SubscriptionID: "sub_1", SubscriptionStatus: status,
			NextInvoiceAt: at, NextInvoiceAmount: 2900}
	}
	withCard := func(a Account) Account { a.HasCard = true; return a }
	canceling := func(a Account) Account { a.CancelAtPeriodEnd = true; return a }
	type rules struct{ live, next, cancel, customerCancel, change, cardFirst, addCard, extend, free bool }
	for _, c := range []struct {
		name string
		a    Account
		want rules
	}{
		{"no plan", Account{}, rules{change: true, free: true}},
		{"free", Account{Plan: PlanFree, State: StateFree}, rules{change: true}},
		{"trial without card", sub(StateTrial, "trialing"), rules{live: true, cancel: true, customerCancel: true, change: true, addCard: true, extend: true, free: true}},
		{"trial with card", withCard(sub(StateTrial, "trialing")), rules{live: true, next: true, cancel: true, customerCancel: true, change: true, addCard: true, extend: true, free: true}},
		{"active", withCard(sub(StateActive, "active")), rules{live: true, next: true, cancel: true, customerCancel: true, change: true, addCard: true, free: true}},
		{"canceling", canceling(withCard(sub(StateCanceling, "active"))), rules{live: true, next: true}},
		{"canceling trial", canceling(sub(StateCanceling, "trialing")), rules{live: true, next: true, extend: true, free: true}},
		{"past due", withCard(sub(StatePastDue, "past_due")), rules{live: true, next: true, cancel: true, addCard: true, free: true}},
		{"paused", sub(StateLockedTrialEnded, "paused"), rules{live: true, next: true, cancel: true, change: true, cardFirst: true, addCard: true, extend: true, free: true}},
		{"unpaid", withCard(sub(StateLockedUnpaid, "unpaid")), rules{live: true, next: true, cancel: true, change: true, cardFirst: true, addCard: true, free: true}},
		{"ended", Account{Plan: "m", State: StateLockedCanceled, SubscriptionID: "sub_1", SubscriptionStatus: "canceled"}, rules{change: true, free: true}},
		{"expired", Account{Plan: "m", State: StateLockedCanceled, SubscriptionID: "sub_1", SubscriptionStatus: "incomplete_expired"}, rules{change: true, free: true}},
		{"status without id", Account{Plan: "m", State: StateActive, SubscriptionStatus: "active"}, rules{change: true, free: true}},
	} {
		a := c.a
		got := rules{a.HasLiveSubscription(), a.ShowsNextInvoice(), a.CanCancel(), a.CustomerCanCancel(), a.CanChangePlan(),
			a.NeedsCardFirst(), a.CanAddCard(), a.CanExtendTrial(), a.CanMoveToFree()}
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestSubscriptionLive(t *testing.T) {
	for st, want := range map[string]bool{"": false, "canceled": false, "incomplete_expired": false,
		"trialing": true, "active": true, "past_due": true, "paused": true, "unpaid": true, "incomplete": true, "new_status": true} {
		if got := SubscriptionLive(st); got != want {
			t.Errorf("SubscriptionLive(%q) = %v, want %v", st, got, want)
		}
	}
}

func TestAuditSummary(t *testing.T) {
	end := time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		a    Account
		want string
	}{
		{Account{}, "plan=- state=- card=false sub=- status=- cancel_at_period_end=false pending=false trial_used=false trial_end=- period_end=-"},
		{Account{Plan: "m", State: StateTrial, SubscriptionID: "sub_1", SubscriptionStatus: "trialing", TrialUsed: true, TrialEnd: end, SecondSubscriptionID: "sub_2"},
			"plan=m state=trial card=false sub=sub_1 status=trialing cancel_at_period_end=false pending=false trial_used=true trial_end=2026-03-12T12:00:00Z period_end=- second_sub=sub_2"},
	} {
		if got := c.a.AuditSummary(); got != c.want {
			t.Errorf("AuditSummary:\n got %s\nwant %s", got, c.want)
		}
	}
}
