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
