package tui_test

import (
	"fmt"
	"testing"

	"github.com/portal/portal/store"
)

// TestLiveBurstEndsOnNewest: a burst of 100 commits to one account, while
// its session is busy with keys typed at the same time, ends with the
// screen on the newest state (the session loop coalesces the burst, one
// reload at a time; the registry's own test counts the reloads).
func TestLiveBurstEndsOnNewest(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "burst@example.com", "1")
	a := account(t, p, key)
	db := p.App.Store()
	for i := range 100 {
		if i%10 == 0 {
			s.Type("?") // help on and off: the program has work of its own
		}
		email := fmt.Sprintf("burst-%02d@example.com", i)
		if _, err := db.UpdateAccount(a.ID, func(x *store.Account) error { x.Email = email; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	s.WaitFor(t, "burst-99@example.com")
	if got := account(t, p, key); got.Version != a.Version+100 {
		t.Errorf("version %d after 100 commits, want %d", got.Version, a.Version+100)
	}
}
