package tui_test

import (
	"strings"
	"testing"
	"time"
)

// An open plan-change preview follows a move of the sandbox clock that
// changes nothing in the account (mid-period, no event falls due): the
// session's wake on the move fetches the preview again, well before the
// minute refresh, so the amount shown is the one that would be charged.
func TestClockMoveRefreshesOpenPreview(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "ivy@example.com", "3")
	advance(t, p, 10*day)
	s.WaitFor(t, "Next invoice") // the dashboard after the move

	changePlan(t, s, "4", "› 3  M")
	s.WaitFor(t, "Press enter to confirm")
	first := dueNow.FindString(s.Screen())
	if first == "" {
		t.Fatalf("no amount due now in the preview:\n%s", s.Screen())
	}
	webhooksDelivered(t, p) // the conversion's last webhooks may still be landing
	before := account(t, p, key)

	advance(t, p, 10*day)
	deadline := time.Now().Add(20 * time.Second) // well under the minute refresh under load
	for {
		scr := s.Screen()
		if now := dueNow.FindString(scr); now != "" && now != first {
			if !strings.Contains(scr, "Press enter to confirm") {
				t.Fatalf("the refreshed preview asks nothing:\n%s", scr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the preview still shows %q after the clock moved 10 days:\n%s", first, scr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := account(t, p, key); after.Version != before.Version {
		t.Errorf("the account changed during the move (version %d → %d): this test is about a move that changes nothing", before.Version, after.Version)
	}
}
