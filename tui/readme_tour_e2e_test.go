package tui_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/sshserver/cmd"
	"golang.org/x/crypto/ssh"
)

// TestREADMETour replays README.md's "A tour" step by step, as a newcomer
// would run it: it is the first thing one does. A change to the tour's
// words or keys belongs in both places.
func TestREADMETour(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := portaltest.Start(t, portaltest.WithDataDir(dataDir))
	customer, admin := portaltest.NewKey(t), portaltest.NewKey(t)

	// 1. ssh with a key the portal has not seen: type your email, press enter.
	s := p.Connect(t, customer, portaltest.WithSize(100, 30))
	s.WaitFor(t, "Email")
	s.Type("tour@example.com", "enter")

	// 2. Pick a plan (free, S, M, XL, XXL). A paid plan starts a 30-day
	// trial with no card; the dashboard counts it down.
	s.WaitFor(t, "choose a plan")
	for _, plan := range []string{"Free", "S", "M", "XL", "XXL"} {
		s.WaitFor(t, "  "+plan+" ")
	}
	s.Type("3", "enter")
	s.WaitFor(t, "30 days left")
	s.WaitFor(t, "trial, no card yet")

	// 3. Press c to add a card: a Checkout link (text, and a QR code with v);
	// 4242 4242 4242 4242 on the sandbox's page; "Card saved" by itself.
	s.Type("c")
	s.WaitFor(t, "Waiting for Stripe")
	if shownLink.FindString(s.Screen()) == "" {
		t.Fatalf("no link on the add-card screen:\n%s", s.Screen())
	}
	s.Type("v")
	s.WaitFor(t, "Scan with your phone")
	s.Type("v")
	s.WaitFor(t, "Waiting for Stripe")
	payCheckoutWith(t, p, s, "4242424242424242")
	s.WaitFor(t, "Card saved")
	s.Type("enter")
	s.WaitFor(t, "trial, card on file")

	// 4. An admin key in data/admin_keys (mode 0600), ssh in with it: the
	// Clock tab (4) moves the sandbox clock by an hour (h), a day (d) or N
	// days (n); every open customer session follows live.
	if err := os.WriteFile(filepath.Join(dataDir, "admin_keys"), ssh.MarshalAuthorizedKey(admin.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	var as *portaltest.Session
	deadline := time.Now().Add(portaltest.DefaultTimeout)
	for { // the file is re-read on change: poll until the key opens the ops view
		as = p.Connect(t, admin, portaltest.WithSize(100, 30))
		as.WaitScreen(t, "a first frame", func(scr string) bool {
			return strings.Contains(scr, "Portal ops") || strings.Contains(scr, "Email")
		})
		if strings.Contains(as.Screen(), "Portal ops") {
			break
		}
		as.Close()
		if time.Now().After(deadline) {
			t.Fatal("the admin key never opened the ops view")
		}
		time.Sleep(100 * time.Millisecond)
	}
	as.Type("4")
	as.WaitFor(t, "+1 day")
	as.Type("d")
	as.WaitFor(t, "y: yes, do it")
	as.Type("y")
	s.WaitFor(t, "29 days left")          // the customer's session follows, no key pressed
	as.WaitFor(t, "Sandbox clock is now") // the move is done: one action at a time
	as.Type("n")
	as.WaitFor(t, "Advance by how many days?")
	as.Type("30", "enter")
	as.WaitFor(t, "y: yes, do it")
	as.Type("y")
	s.WaitFor(t, "State         active") // the trial ended and its invoice was paid

	// 5. ssh host status (or status --json) prints the account for scripts.
	out, code := p.Exec(t, customer, "status")
	if code != 0 || !strings.Contains(out, "tour@example.com") || !strings.Contains(out, "M · $29.00/month") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	out, code = p.Exec(t, customer, "status --json")
	var st cmd.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || st.Plan != "m" || st.State != "active" || st.Card == nil {
		t.Errorf("status --json: exit %d, %v, %+v", code, err, st)
	}
}
