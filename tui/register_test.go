package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// "ab", left, alt+d used to panic inside bubbles' textinput and end the
// session; now it deletes the "b" and the field goes on taking keys.
func TestRegisterDeleteWordForwardAtLastRune(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.send(accountLoadedMsg{NotFound: true})
	h.keys("a", "b")
	h.send(tea.KeyMsg{Type: tea.KeyLeft})
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("d"), Alt: true})
	h.keys("c")
	r, ok := h.m.screen.(*registerScreen)
	if !ok {
		t.Fatalf("screen %T, want the register screen", h.m.screen)
	}
	if got := r.input.Value(); got != "ac" {
		t.Errorf("field holds %q, want %q", got, "ac")
	}
}
