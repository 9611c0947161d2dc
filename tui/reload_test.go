package tui

import (
	"strings"
	"testing"

	"github.com/portal/portal/store"
)

// A reload older than the account version on screen is dropped: reloads
// the model starts itself (after an action) race those of the session loop.
func TestOlderReloadDropped(t *testing.T) {
	h := newHarness(t, 80, 24)
	newer := trialAccount()
	newer.Version = 7
	newer.State, newer.SubscriptionStatus = store.StateLockedTrialEnded, "paused"
	h.load(newer)
	if !strings.Contains(h.view(), "Your account is locked") {
		t.Fatalf("not locked:\n%s", h.view())
	}
	older := trialAccount()
	older.Version = 6
	h.load(older)
	if v := h.view(); !strings.Contains(v, "Your account is locked") {
		t.Fatalf("an older reload replaced the screen:\n%s", v)
	}
	same := newer
	same.NextInvoiceAmount = 4200 // equal version: a re-read of the same state is taken
	h.load(same)
	if h.m.account.NextInvoiceAmount != 4200 {
		t.Error("a reload of the shown version was dropped")
	}
	newest := freeAccount()
	newest.Version = 8
	h.load(newest)
	if v := h.view(); strings.Contains(v, "Your account is locked") {
		t.Fatalf("a newer reload was not applied:\n%s", v)
	}
}
