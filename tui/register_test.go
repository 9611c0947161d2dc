package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
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

// "Already in use" is about the address that was typed: it goes as soon as
// the address changes, and says what to do instead.
func TestRegisterErrorClearsWhileTyping(t *testing.T) {
	h := newHarness(t, 80, 24)
	h.send(accountLoadedMsg{NotFound: true})
	h.keys("taken@example.com")
	h.send(registerFailedMsg{Err: store.ErrEmailTaken})
	if v := h.view(); !strings.Contains(v, "Connect with that key") || !strings.Contains(v, "press tab") {
		t.Fatalf("duplicate address gives no way forward:\n%s", v)
	}
	h.send(tea.KeyMsg{Type: tea.KeyBackspace})
	if v := h.view(); strings.Contains(v, "already has an account") {
		t.Errorf("the error stays while a new address is typed:\n%s", v)
	}
}
