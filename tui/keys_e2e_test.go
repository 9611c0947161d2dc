package tui_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/sshserver/cmd"
	"github.com/portal/portal/store"
	"golang.org/x/crypto/ssh"
)

// End-to-end tests of several keys per account: linking a new machine by
// code (command and register screen), adding a key from stdin, removing
// keys, through the real SSH server.

var shownCode = regexp.MustCompile(`link ([0-9A-Z]{4}-[0-9A-Z]{4})`)

// linkCode opens the keys screen on s (a dashboard) and makes a code.
func linkCode(t *testing.T, s *portaltest.Session) string {
	t.Helper()
	s.Type("k")
	s.WaitFor(t, "Your SSH keys")
	s.Type("l")
	s.WaitFor(t, "On the new machine, run:")
	m := shownCode.FindStringSubmatch(s.Screen())
	if m == nil {
		t.Fatalf("no link command on screen:\n%s", s.Screen())
	}
	return m[1]
}

func TestLinkSecondKeyByCode(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	first, second, third := portaltest.NewKey(t), portaltest.NewKey(t), portaltest.NewKey(t)
	home := signUp(t, p, first, "ada@example.com", "1")
	keys := p.Connect(t, first, wide)
	keys.WaitFor(t, "Your account\n")
	code := linkCode(t, keys)
	_, port, _ := strings.Cut(p.SSHAddr(), ":")
	keys.WaitFor(t, "ssh -p "+port+" localhost link "+code)

	out, code2 := p.Exec(t, second, "link "+strings.ToLower(code))
	if code2 != 0 || !strings.Contains(out, "Linked") || !strings.Contains(out, "ada@example.com") {
		t.Fatalf("link: exit %d, %q", code2, out)
	}
	fp2 := fingerprint(second)
	// Announced live: on the keys screen that made the code, and as a
	// banner on the account's dashboard.
	keys.WaitFor(t, "A new key was added: "+fp2)
	home.WaitFor(t, "A new key was added to your")
	a := account(t, p, first)
	if b := account(t, p, second); b.ID != a.ID || len(a.Keys) != 2 {
		t.Fatalf("second key reaches %s, first %s (%d keys)", b.ID, a.ID, len(a.Keys))
	}
	if ns, _ := p.App.Store().Notices(a.ID); len(ns) == 0 || ns[0].Kind != "key_added" || !strings.Contains(ns[0].Message, fp2) {
		t.Errorf("no key_added notice (for the outbox): %+v", ns)
	}
	if au, _ := p.App.Store().Audit(a.ID, 1); len(au) != 1 || au[0].Action != "key.link" || !strings.Contains(au[0].After, fp2) {
		t.Errorf("link not audited: %+v", au)
	}

	// Both keys reach the account and see each other's changes live.
	other := p.Connect(t, second, wide)
	other.WaitFor(t, "ada@example.com")
	if out, c := p.Exec(t, second, "email ada2@example.com --yes"); c != 0 {
		t.Fatalf("email from the second key: exit %d, %q", c, out)
	}
	home.WaitFor(t, "ada2@example.com")
	if out, c := p.Exec(t, first, "email ada3@example.com --yes"); c != 0 {
		t.Fatalf("email from the first key: exit %d, %q", c, out)
	}
	other.WaitFor(t, "ada3@example.com")

	// A used code is refused, in words; the key is not added.
	out, c := p.Exec(t, third, "link "+code)
	if c != 1 || !strings.Contains(out, "used already") {
		t.Errorf("reused code: exit %d, %q", c, out)
	}
	// An expired one too.
	err := p.App.Store().Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PutLinkCode(store.LinkCode{Code: "ABCD2345", AccountID: a.ID, ExpiresAt: time.Now().Add(-time.Second)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, c := p.Exec(t, third, "link ABCD-2345"); c != 1 || !strings.Contains(out, "expired") {
		t.Errorf("expired code: exit %d, %q", c, out)
	}
	if _, err := p.App.Store().AccountByKey(fingerprint(third)); err == nil {
		t.Error("a refused code added the key")
	}

	// The register screen takes a fresh code (tab: have a code?).
	code = linkCode(t, p.Connect(t, first, wide))
	s := p.Connect(t, third, wide)
	s.WaitFor(t, "have a code?")
	s.Type("tab")
	s.WaitFor(t, "Code")
	s.Type("WRONGCODE", "enter") // not 8 characters of the alphabet
	s.WaitFor(t, "8 letters and digits")
	for range len("WRONGCODE") {
		s.Type("backspace")
	}
	s.Type(code, "enter")
	s.WaitFor(t, "Your account\n")
	s.WaitFor(t, "ada3@example.com")
	if n := len(account(t, p, first).Keys); n != 3 {
		t.Errorf("%d keys after the register screen's link, want 3", n)
	}
}

// Wrong codes from one address run into its limit: after 10 wrong tries
// even the right code is refused, with a wait in words.
func TestLinkGuessesRateLimited(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	owner, guesser := portaltest.NewKey(t), portaltest.NewKey(t)
	home := signUp(t, p, owner, "bo@example.com", "1")
	code := linkCode(t, home)
	for i := range 10 {
		out, c := p.Exec(t, guesser, fmt.Sprintf("link ZZZZ-%04d", i))
		if c != 1 || !strings.Contains(out, "No such code") {
			t.Fatalf("guess %d: exit %d, %q", i+1, c, out)
		}
	}
	out, c := p.Exec(t, guesser, "link "+code)
	if c != 1 || !strings.Contains(out, "Too many link attempts; try again in") {
		t.Fatalf("after 10 guesses: exit %d, %q", c, out)
	}
	if _, err := p.App.Store().AccountByKey(fingerprint(guesser)); err == nil {
		t.Fatal("a limited attempt linked the key")
	}
	var e struct{ Error string }
	if _, c := runJSON(t, p, guesser, "link "+code, &e); c != 1 || !strings.Contains(e.Error, "Too many") {
		t.Errorf("limited --json: exit %d, %+v", c, e)
	}
}

func authorizedLine(k ssh.Signer, comment string) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey()))) + " " + comment + "\n"
}

// keys add reads a public key from stdin; keys remove never removes the
// last key; a removed key gets the register screen next time.
func TestKeysAddByStdinAndRemove(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	first, second := portaltest.NewKey(t), portaltest.NewKey(t)
	a := customer(t, p, first, "cy@example.com", "free")

	if _, stderr, c := p.Run(t, first, "keys add", "not a key\n"); c != 1 || !strings.Contains(stderr, "not an SSH public key") {
		t.Errorf("keys add garbage: exit %d, %q", c, stderr)
	}
	if _, stderr, c := p.Run(t, first, "keys add", ""); c != 1 || !strings.Contains(stderr, "No public key given") {
		t.Errorf("keys add nothing: exit %d, %q", c, stderr)
	}
	out, _, c := p.Run(t, first, "keys add", authorizedLine(second, "cy@laptop"))
	if c != 0 || !strings.Contains(out, "Added ssh-ed25519 "+fingerprint(second)+" (cy@laptop)") {
		t.Fatalf("keys add: exit %d, %q", c, out)
	}
	if _, stderr, c := p.Run(t, first, "keys add", authorizedLine(second, "")); c != 1 || !strings.Contains(stderr, "already on the account") {
		t.Errorf("keys add twice: exit %d, %q", c, stderr)
	}
	var list []cmd.KeyEntry
	runJSON(t, p, second, "keys", &list)
	if len(list) != 2 || list[1].Fingerprint != fingerprint(second) || list[1].Label != "cy@laptop" || !list[1].Current || list[0].Current {
		t.Fatalf("keys --json from the second key: %+v", list)
	}
	if out, c := p.Exec(t, second, "status"); c != 0 || !strings.Contains(out, "cy@example.com") {
		t.Errorf("second key's status: exit %d, %q", c, out)
	}

	// The first key removes itself: allowed (another is left), and said.
	var rm struct {
		Removed string
		Current bool
		Left    int `json:"keys_left"`
	}
	if _, c := runJSON(t, p, first, "keys remove "+strings.TrimPrefix(fingerprint(first), "SHA256:"), &rm); c != 0 ||
		rm.Removed != fingerprint(first) || !rm.Current || rm.Left != 1 {
		t.Fatalf("keys remove (own key) --json: exit %d, %+v", c, rm)
	}
	if out, c := p.Exec(t, first, "status"); c != 1 || !strings.Contains(out, "not registered") {
		t.Errorf("removed key's status: exit %d, %q", c, out)
	}
	s := p.Connect(t, first, wide)
	s.WaitFor(t, "This key is new here")

	// The last key stays.
	if _, stderr, c := p.Run(t, second, "keys remove "+fingerprint(second), ""); c != 1 || !strings.Contains(stderr, "only key") {
		t.Errorf("removing the last key: exit %d, %q", c, stderr)
	}
	if _, stderr, c := p.Run(t, second, "keys remove SHA256:nope", ""); c != 1 || !strings.Contains(stderr, "No key SHA256:nope") {
		t.Errorf("removing an unknown key: exit %d, %q", c, stderr)
	}
	if got := account(t, p, second); got.ID != a.ID || len(got.Keys) != 1 {
		t.Errorf("after: %+v", got)
	}
	if au, _ := p.App.Store().Audit(a.ID, 0); len(au) != 2 || au[0].Action != "key.remove" || au[1].Action != "key.add" {
		t.Errorf("audit: %+v", au)
	}
}

// The keys screen removes a key after a confirmation and warns when it is
// the key in use; the last key cannot be removed.
func TestKeysScreenRemove(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	first, second := portaltest.NewKey(t), portaltest.NewKey(t)
	a := customer(t, p, first, "di@example.com", "free")
	if _, err := p.App.Store().AddKey(a.ID, storeKey(second)); err != nil {
		t.Fatal(err)
	}
	s := p.Connect(t, first, wide)
	s.WaitFor(t, "Your account\n")
	s.Type("k")
	s.WaitFor(t, fingerprint(second))
	s.WaitFor(t, "this key (in use)")
	s.Type("d") // the cursor starts on this session's key
	s.WaitFor(t, "This is the key you are using now")
	s.Type("n")
	s.WaitGone(t, "This is the key you are using now")
	s.Type("down")
	confirm(t, s, "d", "Remove "+fingerprint(second)+"? (y/n)")
	s.WaitFor(t, "Removed "+fingerprint(second))
	s.Type("d")
	s.WaitFor(t, "This is the account's only key")
	if got := account(t, p, first); len(got.Keys) != 1 {
		t.Errorf("keys after: %+v", got.Keys)
	}
}
