package tui_test

import (
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
	"golang.org/x/crypto/ssh"
)

// runTour plays a whole sequence of keys, one string a screen, as the
// customer key: the email and enter on register; "4", "2" and enter on the
// plan picker; on the dashboard "p" (change plan), "3", "5" and "?" (full
// help). It types either one write a screen or one write a key, and returns
// the last screen.
func runTour(t *testing.T, p *portaltest.Portal, key ssh.Signer, email string, together bool) string {
	t.Helper()
	customerTour := []string{email + "\r", "42\r", "p35?"}
	s := p.Connect(t, key, portaltest.WithSize(100, 30))
	waits := []string{"choose a plan", "Your account\n", "› 5"}
	s.WaitFor(t, "Email")
	for i, screen := range customerTour {
		if together {
			if _, err := s.Write([]byte(screen)); err != nil {
				t.Fatal(err)
			}
		} else {
			for _, r := range screen {
				s.Type(string(r))
			}
		}
		s.WaitFor(t, waits[i])
	}
	s.WaitFor(t, "1-5   pick") // the full help is open
	return s.Screen()
}

// Typing a whole screen's keys in one write ends where typing them one
// write a key does: Bubble Tea folds runes read together into one key
// message, which no screen matched.
func TestCustomerKeysInOneWriteActLikeOneByOne(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	k1, k2 := portaltest.NewKey(t), portaltest.NewKey(t)
	apart := runTour(t, p, k1, "apart@example.com", false)
	together := runTour(t, p, k2, "after@example.com", true)
	if strings.ReplaceAll(apart, "apart@", "after@") != together {
		t.Errorf("one write a screen ends on\n%s\none write a key on\n%s", together, apart)
	}
	for _, k := range []ssh.Signer{k1, k2} {
		if a := account(t, p, k); a.Plan != "s" {
			t.Errorf("%s chose %q, want S (the picker's 2)", a.Email, a.Plan)
		}
	}
}

// Keys typed together across a navigation act in order: enter on "Card
// saved" goes back to the dashboard, and the "i" sent in the same write
// opens the invoices there.
func TestKeysTogetherAcrossANavigation(t *testing.T) {
	t.Parallel()
	p, _, s := newJourney(t, "across@example.com", "3")
	s.Type("c")
	payCheckout(t, p, s)
	s.WaitFor(t, "Card saved: Visa •••• 4242")
	if _, err := s.Write([]byte("\ri")); err != nil {
		t.Fatal(err)
	}
	s.WaitFor(t, "Invoices\n")
}

// typedAtRegister connects a new key at 80×24 and writes typed, all at
// once, on the register screen.
func typedAtRegister(t *testing.T, typed string) (*portaltest.Portal, ssh.Signer, *portaltest.Session) {
	t.Helper()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	s := p.Connect(t, key, portaltest.WithSize(80, 24))
	s.WaitFor(t, "Email")
	if _, err := s.Write([]byte(typed)); err != nil {
		t.Fatal(err)
	}
	return p, key, s
}

// Keys typed while the registration is on its way reach the plan picker
// that follows it: the email, enter, "2" and enter in one write start S.
func TestKeysTogetherAcrossRegistration(t *testing.T) {
	t.Parallel()
	p, key, s := typedAtRegister(t, "quick@example.com\r2\r")
	s.WaitFor(t, "30 days left")
	if a := account(t, p, key); a.Email != "quick@example.com" || a.Plan != "s" {
		t.Errorf("registered %q on plan %q, want quick@example.com on S", a.Email, a.Plan)
	}
}

// Keys typed on after the plan choice, in the same write as the
// registration, reach the dashboard that the trial's answer opens: k opens
// the keys screen and l makes a link code there.
func TestKeysTogetherAcrossRegistrationAndPlan(t *testing.T) {
	t.Parallel()
	_, _, s := typedAtRegister(t, "ahead@example.com\r2\rkl")
	s.WaitFor(t, "Your SSH keys")
	s.WaitFor(t, "It works once, for 10 minutes")
}

// The key that registers an account has been used: its session is its
// first use, so the ops detail never says "never used" for it.
func TestRegisteringKeyCountsAsUsed(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	signUp(t, p, key, "used@example.com", "1")
	if a := account(t, p, key); len(a.Keys) != 1 || a.Keys[0].LastUsedAt.IsZero() {
		t.Errorf("the registering key's last use is not recorded: %+v", a.Keys)
	}
}
