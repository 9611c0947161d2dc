package ops_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	"golang.org/x/crypto/ssh"
)

// An admin typing each screen's keys in one write ("jjj", "23", "?1jj")
// ends where typing them one write a key does. Bubble Tea folds runes read
// together into one key message: "jjj" moved nothing, "23" changed no tab.
func TestE2EOpsKeysInOneWriteActLikeOneByOne(t *testing.T) {
	t.Parallel()
	admin := portaltest.NewKey(t)
	p, _ := startWithAdmins(t, admin)
	for i := range 8 {
		if _, err := p.App.Store().CreateAccount(fmt.Sprintf("c%d@example.com", i),
			store.Key{Fingerprint: fmt.Sprintf("SHA256:k%d", i), PublicKey: fmt.Sprintf("ssh-ed25519 k%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(together bool) string {
		s := p.Connect(t, admin, portaltest.WithSize(120, 40))
		s.WaitFor(t, "c7@example.com")
		for _, step := range []struct{ keys, want string }{
			{"jjj", "> c3@example.com"},
			{"23", "[3 Webhooks]"},
			{"?1jj", "> c5@example.com"},
		} {
			if together {
				if _, err := s.Write([]byte(step.keys)); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, r := range step.keys {
					s.Type(string(r))
				}
			}
			s.WaitFor(t, step.want)
		}
		return s.Screen()
	}
	apart, together := run(false), run(true)
	if apart != together {
		t.Errorf("one write a screen ends on\n%s\none write a key on\n%s", together, apart)
	}
	if !strings.Contains(together, "[1 Accounts]") {
		t.Errorf("not back on the accounts tab:\n%s", together)
	}
}

// A key typed the moment the session opens, before the first frame (while
// the terminal is still answering the start-up colour query), acts.
func TestE2EOpsFirstKeyBeforeFirstFrameActs(t *testing.T) {
	t.Parallel()
	admin := portaltest.NewKey(t)
	p, _ := startWithAdmins(t, admin)
	for range 3 {
		s := p.Connect(t, admin, portaltest.WithSize(120, 40))
		s.Type("3")
		s.WaitFor(t, "[3 Webhooks]")
		s.Close()
	}
}

// Removing an admin's key from the admin keys file ends their open ops
// session, with a line saying why (it went on until the next action).
func TestE2ERevokedAdminSessionEndsWithReason(t *testing.T) {
	t.Parallel()
	admin, other := portaltest.NewKey(t), portaltest.NewKey(t)
	p, path := startWithAdmins(t, admin, other)
	s := p.Connect(t, admin, portaltest.WithSize(120, 40))
	s.WaitFor(t, opsTitle)
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(other.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	s.WaitClosed(t)
	s.WaitFor(t, "Your key was removed from the admin keys file, so the ops view closed.")
}
