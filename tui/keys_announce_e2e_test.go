package tui_test

import (
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
)

// The key_added banner asks the account's other sessions "Not you?"; the
// session of the key that was added (linked on the register screen) is
// told it reaches the account instead of being asked to remove itself.
func TestAddedKeyIsNotAskedNotYou(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	first, second := portaltest.NewKey(t), portaltest.NewKey(t)
	home := signUp(t, p, first, "na@example.com", "1")
	code := linkCode(t, home)
	s := p.Connect(t, second, wide)
	s.WaitFor(t, "have a code?")
	s.Type("tab")
	s.WaitFor(t, "Code")
	s.Type(code, "enter")
	s.WaitFor(t, "Your account\n")
	s.WaitFor(t, "This key was added to the account")
	if scr := s.Screen(); strings.Contains(scr, "Not you?") {
		t.Errorf("the added key's own session is asked to remove it:\n%s", scr)
	}
	home.Type("esc")
	home.WaitFor(t, "Not you?")
}

// Making link codes counts against the account's limit (10, then one
// every 2 minutes): the keys screen refuses the 11th with the wait.
func TestLinkCodesLimitedPerAccount(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	customer(t, p, key, "lim@example.com", "free")
	s := p.Connect(t, key, wide)
	s.WaitFor(t, "Your account\n")
	s.Type("k")
	s.WaitFor(t, "Your SSH keys")
	last := ""
	for range 10 {
		s.Type("l")
		s.WaitScreen(t, "a new code", func(scr string) bool {
			m := shownCode.FindStringSubmatch(scr)
			return m != nil && m[1] != last
		})
		last = shownCode.FindStringSubmatch(s.Screen())[1]
	}
	s.Type("l")
	s.WaitFor(t, "Too many link attempts; try again in 2 minutes.")
	// The last code shown still works.
	if out, c := p.Exec(t, portaltest.NewKey(t), "link "+last); c != 0 {
		t.Errorf("the 10th code: exit %d, %q", c, out)
	}
}
