package tui_test

import (
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/sshserver/cmd"
	"github.com/portal/portal/store"
	"golang.org/x/crypto/ssh"
)

// twoKeys starts an account on Free with first's key and second's, and
// opens a session of first on the keys screen at size.
func twoKeys(t *testing.T, p *portaltest.Portal, email, label string, size portaltest.SessionOption) (first, second ssh.Signer, a store.Account, s *portaltest.Session) {
	t.Helper()
	first, second = portaltest.NewKey(t), portaltest.NewKey(t)
	a = customer(t, p, first, email, "free")
	k := storeKey(second)
	k.Label = label
	if _, err := p.App.Store().AddKey(a.ID, k); err != nil {
		t.Fatal(err)
	}
	s = p.Connect(t, first, size)
	s.WaitFor(t, "Your account\n")
	s.Type("k")
	s.WaitFor(t, "Your SSH keys")
	return first, second, a, s
}

// Issue 16: the keys screen shows "a label the customer sets". e on the
// keys screen names the chosen key (enter saves, empty clears, esc leaves
// it); the label shows on the screen and in `keys --json`, and is audited.
func TestKeysScreenLabel(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	first, second, a, s := twoKeys(t, p, "lu@example.com", "", portaltest.WithSize(100, 30))
	s.WaitFor(t, "e label")
	s.Type("down", "e")
	s.WaitFor(t, "Label for "+fingerprint(second))
	s.WaitFor(t, "enter save label")
	// Letters that are keys elsewhere (q quits, d removes) are text here.
	s.Type("quad desk", "enter")
	s.WaitFor(t, "Labelled "+fingerprint(second)+": quad desk.")
	s.WaitFor(t, "ed25519 · quad desk · added")

	var list []cmd.KeyEntry
	runJSON(t, p, first, "keys", &list)
	if len(list) != 2 || list[1].Label != "quad desk" || list[0].Label != "" {
		t.Fatalf("keys --json after labelling: %+v", list)
	}
	if au, _ := p.App.Store().Audit(a.ID, 1); len(au) != 1 || au[0].Action != "key.label" || !strings.Contains(au[0].After, "quad desk") {
		t.Errorf("label not audited: %+v", au)
	}

	// esc leaves the label as it was.
	s.Type("e", "ctrl+u", "nope", "esc")
	s.WaitGone(t, "Label for")
	if got := account(t, p, second).Keys[1].Label; got != "quad desk" {
		t.Errorf("esc changed the label to %q", got)
	}
	// An empty label clears it.
	s.Type("e", "ctrl+u", "enter")
	s.WaitFor(t, "Label of "+fingerprint(second)+" removed.")
	if got := account(t, p, second).Keys[1].Label; got != "" {
		t.Errorf("label after clearing: %q", got)
	}
}

// `keys label FINGERPRINT` with no text clears the label, as an empty
// field does on the screen (ssh drops an empty "" argument).
func TestKeysLabelCommandClears(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	key := portaltest.NewKey(t)
	customer(t, p, key, "lc@example.com", "free")
	fp := fingerprint(key)
	if out, c := p.Exec(t, key, "keys label "+fp+" my desk"); c != 0 || !strings.Contains(out, "(my desk)") {
		t.Fatalf("keys label: exit %d, %q", c, out)
	}
	var e cmd.KeyEntry
	if _, c := runJSON(t, p, key, "keys label "+fp, &e); c != 0 || e.Label != "" || e.Fingerprint != fp {
		t.Fatalf("keys label without text --json: exit %d, %+v", c, e)
	}
}

// Keys typed while the keys screen's change is in flight wait for it
// instead of being dropped: d, y and esc typed fast remove the key and
// then go back to the dashboard.
func TestKeysScreenHoldsKeysWhileBusy(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	first, _, _, s := twoKeys(t, p, "fa@example.com", "", wide)
	s.Type("down", "d", "y", "esc")
	s.WaitFor(t, "Email         fa@example.com")
	if got := account(t, p, first); len(got.Keys) != 1 {
		t.Errorf("keys after d, y: %+v", got.Keys)
	}
}

// In a short window (50x15) the label field shows in place of the list,
// as a link code does, rather than under it and cut off.
func TestKeysScreenLabelFitsShortWindow(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	_, second, _, s := twoKeys(t, p, "sh@example.com", "old desk", portaltest.WithSize(50, 15))
	s.Type("down", "e")
	s.WaitFor(t, "> old desk")
	if scr := s.Screen(); strings.Contains(scr, "make the window taller") {
		t.Errorf("the label field is cut off:\n%s", scr)
	}
	s.Type("ctrl+u", "new desk", "enter")
	s.WaitFor(t, "Labelled")
	if got := account(t, p, second).Keys[1].Label; got != "new desk" {
		t.Errorf("label = %q", got)
	}
}
