package ops

import (
	"strings"
	"testing"
)

// A status belongs to the tab it is about: "Sandbox clock is now …" shows
// on the Clock tab, not on every tab the admin goes to next.
func TestStatusStaysOnItsTab(t *testing.T) {
	f, _ := goldenFixture(t, true)
	d := f.drive(t, 140, 40)
	d.keys("4", "h", "y")
	if v := d.view(); !strings.Contains(v, "Sandbox clock is now") {
		t.Fatalf("no status after moving the clock:\n%s", v)
	}
	d.keys("1")
	if v := d.view(); strings.Contains(v, "Sandbox clock is now") {
		t.Errorf("the clock's status follows to the accounts tab:\n%s", v)
	}
	d.keys("4")
	if v := d.view(); !strings.Contains(v, "Sandbox clock is now") {
		t.Errorf("the status is gone from its own tab:\n%s", v)
	}
}

// Sorting offers only the columns on screen: at 80 columns, → from the
// last visible column comes back to Email instead of sorting by a hidden
// one.
func TestSortOffersOnlyVisibleColumns(t *testing.T) {
	f, _ := goldenFixture(t, false)
	d := f.drive(t, 80, 24)
	s := d.m.(*model).screens[tabAccounts].(*accountsScreen)
	d.view() // the columns drawn are those of the last view
	visible := s.sortable()
	if len(visible) >= int(numColumns) {
		t.Fatalf("all %d columns fit at 80 columns; the test needs a hidden one", numColumns)
	}
	seen := map[column]bool{}
	for range numColumns {
		d.keys("right")
		seen[s.q.sort] = true
	}
	for c := range seen {
		found := false
		for _, v := range visible {
			found = found || v == c
		}
		if !found {
			t.Errorf("sorted by %s, which is not on screen", c)
		}
	}
}

// esc clears a search that was applied with enter.
func TestEscClearsAppliedSearch(t *testing.T) {
	f, _ := goldenFixture(t, false)
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter")
	if v := d.view(); !strings.Contains(v, "1–1 of 1") {
		t.Fatalf("search not applied:\n%s", v)
	}
	d.keys("esc")
	if v := d.view(); strings.Contains(v, "1–1 of 1") || strings.Contains(v, "filtered") {
		t.Errorf("esc left the search applied:\n%s", v)
	}
}

// Audit lines show the fields that changed, before → after.
func TestAuditLinesShowChangedFields(t *testing.T) {
	for _, tt := range []struct{ before, after, want string }{
		{"plan=m state=trial trial_end=a", "plan=m state=trial trial_end=b", "trial_end=a→b"},
		{"state=trial status=trialing", "state=locked_trial_ended status=paused",
			"state=trial→locked_trial_ended status=trialing→paused"},
		{"plan=m", "plan=m", "no visible change"},
	} {
		if got := diffSummary(tt.before, tt.after); got != tt.want {
			t.Errorf("diffSummary(%q, %q) = %q, want %q", tt.before, tt.after, got, tt.want)
		}
	}
}

// enter on a webhook row opens its detail (type, account, outcome, error,
// how to retry); esc goes back to the list.
func TestWebhookRowOpensDetail(t *testing.T) {
	f, _ := goldenFixture(t, false)
	d := f.drive(t, 140, 40)
	d.keys("3")
	if v := d.view(); !strings.Contains(v, "Events, newest first") {
		t.Fatalf("not on the webhook log:\n%s", v)
	}
	d.keys("enter")
	v := d.view()
	shows(t, v, []string{"Event evt_", "Type", "Outcome", "Received"}, nil)
	d.keys("esc")
	if v := d.view(); !strings.Contains(v, "Events, newest first") {
		t.Errorf("esc did not go back to the list:\n%s", v)
	}
}
