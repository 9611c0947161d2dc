package ops

import (
	"slices"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// altD is alt+d, delete word forward: in bubbles v1.0.0's textinput it
// panics with the cursor one rune from the end.
var altD = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("d"), Alt: true}

// The search field and the number dialog both survive "…x", left, alt+d,
// and act on what is left.
func TestInputsDeleteWordForwardAtLastRune(t *testing.T) {
	f, ids := goldenFixture(t, false)
	d := f.drive(t, 140, 40)

	d.keys("/", "alicex", "left")
	d.send(altD)
	if got := d.m.(*model).screens[tabAccounts].(*accountsScreen).search.Value(); got != "alice" {
		t.Fatalf("search holds %q, want %q", got, "alice")
	}
	d.keys("enter", "enter") // the one match's detail

	d.keys("e", "12", "left")
	d.send(altD)
	d.keys("enter", "y")
	if calls, want := f.bill.calls(), []string{"ExtendTrial " + ids["alice"] + " 1"}; !slices.Equal(calls, want) {
		t.Errorf("billing calls %v, want %v", calls, want)
	}
}
