package tui_test

import (
	"strings"
	"testing"
)

// A banner dismissed in one session is gone from every session of the
// account, open or opened later; it is kept in the store, not the session.
func TestBannerDismissedStaysDismissedInEverySession(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "dis@example.com", "2")
	saveCard(t, p, s, visa)
	const banner = "✓ Card added: Visa •••• 4242. (d: dismiss)"
	s.WaitFor(t, banner)
	other := p.Connect(t, key, wide)
	other.WaitFor(t, banner)

	s.Type("d")
	s.WaitGone(t, "Card added")
	other.WaitGone(t, "Card added") // the store's feed told the other session
	later := p.Connect(t, key, wide)
	later.WaitFor(t, "Card          Visa •••• 4242")
	if scr := later.Screen(); strings.Contains(scr, "Card added") {
		t.Errorf("a new session shows the dismissed banner:\n%s", scr)
	}
}
