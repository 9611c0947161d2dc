package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
)

// A key typed after one that opens another screen, but before the root has
// shown it (the navigateMsg is still a command on its way), reaches the
// screen it was typed at: "e" then "z" types z into the email field, as
// when the screens switched within one Update.
func TestKeysTypedWhileNavigatingReachTheNewScreen(t *testing.T) {
	h := newHarness(t, 80, 24).load(activeAccount())
	if _, ok := h.m.screen.(*dashboard); !ok {
		t.Fatalf("screen %T, want the dashboard", h.m.screen)
	}
	_, open := h.m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("e")})
	if _, held := h.m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("z")}); held != nil {
		h.run(held)
	}
	h.run(open)
	s, ok := h.m.screen.(*emailScreen)
	if !ok {
		t.Fatalf("screen %T, want the email screen", h.m.screen)
	}
	if got := s.input.Value(); got != "z" {
		t.Errorf("email field = %q, want %q (the key typed before the screen showed)", got, "z")
	}
	if h.e.navigating != 0 {
		t.Errorf("navigating = %d after the screen showed, want 0", h.e.navigating)
	}
}

// A fresh read that lands while a navigation is on its way reaches the new
// screen: the account became canceling elsewhere after "x", so the cancel
// confirmation, which applies only to a trial or active plan, gives way to
// the dashboard at once, as it would have had it been in view.
func TestFreshReadWhileNavigatingReachesTheNewScreen(t *testing.T) {
	h := newHarness(t, 80, 24).load(activeAccount())
	_, open := h.m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("x")})
	a := activeAccount()
	a.Version++
	a.State = store.StateCanceling
	h.send(accountLoadedMsg{Account: a})
	h.run(open)
	if _, ok := h.m.screen.(*dashboard); !ok {
		t.Fatalf("screen %T, want the dashboard: the account is canceling already", h.m.screen)
	}
}
