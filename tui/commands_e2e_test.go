package tui_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/sshserver/cmd"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"golang.org/x/crypto/ssh"
)

// End-to-end tests of the script commands (sshserver/cmd) through the
// real SSH server: each in text and JSON, for an account, a key without
// one and an admin key, and where the account's state forbids it.

// startWithAdmin runs a portal whose admin keys file lists admin.
func startWithAdmin(t *testing.T, admin ssh.Signer) *portaltest.Portal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin_keys")
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(admin.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	return portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) { c.AdminKeysPath = path }), manyCommands)
}

// manyCommands lifts the per-address session rate (a burst of 20) for
// tests that run dozens of commands from one address in a second.
var manyCommands = portaltest.WithConfig(func(c *app.Config) { c.RateLimit, c.RateBurst = 1000, 1000 })

func storeKey(k ssh.Signer) store.Key {
	return store.Key{Fingerprint: ssh.FingerprintSHA256(k.PublicKey()), PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey())))}
}

// customer registers key with email on plan (through billing, as the
// plan picker does).
func customer(t *testing.T, p *portaltest.Portal, key ssh.Signer, email, plan string) store.Account {
	t.Helper()
	a, err := p.App.Store().CreateAccount(email, storeKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if plan != "" {
		if a, err = p.App.Billing().ChoosePlan(context.Background(), a.ID, plan); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// runJSON runs command --json and decodes its stdout into out; stdout must
// be JSON whatever the exit status.
func runJSON(t *testing.T, p *portaltest.Portal, key ssh.Signer, command string, out any) (stderr string, exit int) {
	t.Helper()
	stdout, stderr, exit := p.Run(t, key, command+" --json", "")
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("%s --json: stdout is not JSON (%v): %q; stderr %q", command, err, stdout, stderr)
	}
	return stderr, exit
}

type errJSON struct {
	Error string `json:"error"`
}

// Every command refuses a key without an account, and an admin key, with
// one line and a non-zero exit, in text and JSON (help and plans answer
// anyone; status --json keeps its registered:false shape).
func TestCommandsRefuseUnregisteredAndAdminKeys(t *testing.T) {
	t.Parallel()
	admin, stranger := portaltest.NewKey(t), portaltest.NewKey(t)
	p := startWithAdmin(t, admin)
	for _, cmd := range []string{"invoices", "keys", "keys list", "card", "plan s", "plan s --yes", "cancel --yes",
		"resume --yes", "billing", "email new@example.com --yes"} {
		for who, key := range map[string]ssh.Signer{"unregistered": stranger, "admin": admin} {
			want := map[string]string{"unregistered": "not registered", "admin": "admin key"}[who]
			stdout, stderr, code := p.Run(t, key, cmd, "")
			if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
				t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want exit 1 and one line saying %q", who, cmd, code, stdout, stderr, want)
			}
			var e errJSON
			if _, code := runJSON(t, p, key, cmd, &e); code != 1 || !strings.Contains(e.Error, want) {
				t.Errorf("%s %q --json: exit %d, %+v", who, cmd, code, e)
			}
		}
	}
	// The link command refuses an admin key, and a wrong code from a stranger.
	if _, stderr, code := p.Run(t, admin, "link 7KQ2-M9XD", ""); code != 1 || !strings.Contains(stderr, "admin key") {
		t.Errorf("admin link: exit %d, %q", code, stderr)
	}
	var e errJSON
	if _, code := runJSON(t, p, stranger, "link 7KQ2-M9XD", &e); code != 1 || !strings.Contains(e.Error, "No such code") {
		t.Errorf("stranger link with a wrong code: exit %d, %+v", code, e)
	}
	var st struct {
		Registered, Admin bool
	}
	if _, code := runJSON(t, p, admin, "status", &st); code != 0 || !st.Admin {
		t.Errorf("admin status --json: exit %d, %+v", code, st)
	}
	for _, key := range []ssh.Signer{stranger, admin} {
		var plans []cmd.PlanEntry
		if _, code := runJSON(t, p, key, "plans", &plans); code != 0 || len(plans) != 5 {
			t.Errorf("plans --json: exit %d, %+v", code, plans)
		}
		var help []cmd.HelpEntry
		if _, code := runJSON(t, p, key, "help", &help); code != 0 || len(help) < 12 {
			t.Errorf("help --json: exit %d, %d commands", code, len(help))
		}
	}
	if _, stderr, code := p.Run(t, stranger, "keys --frob", ""); code != 2 || !strings.Contains(stderr, "usage: keys") {
		t.Errorf("bad option: exit %d, %q", code, stderr)
	}
}

// The commands an account on a trial runs, text then JSON, each checked
// against the store or Stripe (the sandbox) afterwards.
func TestCommandsOnTrialAccount(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	key := portaltest.NewKey(t)
	a := customer(t, p, key, "cmd@example.com", "m")

	out, _, code := p.Run(t, key, "plans", "")
	if code != 0 || !strings.Contains(out, "* m") || !strings.Contains(out, "$29.00/month") {
		t.Errorf("plans: exit %d\n%s", code, out)
	}
	var plans []cmd.PlanEntry
	runJSON(t, p, key, "plans", &plans)
	for _, pl := range plans {
		if pl.Current != (pl.ID == "m") || pl.Currency == "" || pl.Interval != "month" {
			t.Errorf("plans --json entry %+v", pl)
		}
	}

	out, _, code = p.Run(t, key, "keys", "")
	if code != 0 || !strings.Contains(out, "* "+ssh.FingerprintSHA256(key.PublicKey())) || !strings.Contains(out, "ssh-ed25519") {
		t.Errorf("keys: exit %d\n%s", code, out)
	}
	var keys []cmd.KeyEntry
	runJSON(t, p, key, "keys list", &keys)
	if len(keys) != 1 || !keys[0].Current || keys[0].AddedAt.IsZero() || keys[0].LastUsedAt == nil {
		t.Errorf("keys --json = %+v; want this key, used now", keys)
	}

	out, _, code = p.Run(t, key, "card", "")
	if code != 0 || !strings.Contains(out, "/l/") {
		t.Errorf("card: exit %d\n%s", code, out)
	}
	var link cmd.LinkEntry
	if _, code := runJSON(t, p, key, "card", &link); code != 0 || !strings.Contains(link.URL, "/l/") || link.ExpiresAt.IsZero() {
		t.Errorf("card --json: exit %d, %+v", code, link)
	}
	link = cmd.LinkEntry{}
	if _, code := runJSON(t, p, key, "billing", &link); code != 0 || !strings.Contains(link.URL, "/l/") {
		t.Errorf("billing --json: exit %d, %+v", code, link)
	}

	// plan: a preview changes nothing; --yes moves.
	out, _, code = p.Run(t, key, "plan xl", "")
	if code != 0 || !strings.Contains(out, "Nothing changed yet") || !strings.Contains(out, "plan xl --yes") {
		t.Errorf("plan xl: exit %d\n%s", code, out)
	}
	var pv cmd.PlanPreview
	if _, code := runJSON(t, p, key, "plan XL", &pv); code != 0 || pv.Changed || pv.Plan != "xl" || pv.NextAmount != 7900 || pv.Currency != "usd" {
		t.Errorf("plan XL --json: exit %d, %+v", code, pv)
	}
	if got := account(t, p, key); got.Plan != "m" {
		t.Fatalf("a preview changed the plan to %s", got.Plan)
	}
	var res cmd.ChangeResult
	if _, code := runJSON(t, p, key, "plan xl --yes", &res); code != 0 || !res.Changed || res.Status.Plan != "xl" {
		t.Errorf("plan xl --yes --json: exit %d, %+v", code, res)
	}
	if _, stderr, code := p.Run(t, key, "plan xl --yes", ""); code != 1 || !strings.Contains(stderr, "already") {
		t.Errorf("plan of the current plan: exit %d, %q", code, stderr)
	}
	if _, stderr, code := p.Run(t, key, "plan gold", ""); code != 1 || !strings.Contains(stderr, `no plan "gold"`) {
		t.Errorf("unknown plan: exit %d, %q", code, stderr)
	}

	// cancel needs --yes; then resume.
	if _, stderr, code := p.Run(t, key, "cancel", ""); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Errorf("cancel without --yes: exit %d, %q", code, stderr)
	}
	out, _, code = p.Run(t, key, "cancel --yes", "")
	if code != 0 || !strings.Contains(out, "Canceled") || !account(t, p, key).CancelAtPeriodEnd {
		t.Errorf("cancel --yes: exit %d, %q", code, out)
	}
	res = cmd.ChangeResult{}
	if _, code := runJSON(t, p, key, "resume --yes", &res); code != 0 || !res.Changed || res.Status.CancelAtPeriodEnd {
		t.Errorf("resume --yes --json: exit %d, %+v", code, res)
	}

	// email: validated, needs --yes, kept in step with the Stripe customer.
	other := portaltest.NewKey(t)
	customer(t, p, other, "taken@example.com", "")
	for cmd, want := range map[string]string{
		"email nope":                        "not an email address",
		"email TAKEN@example.com --yes":     "already used by another account",
		"email new@example.com":             "add --yes",
		"email cmd@example.com --yes":       "already",
		"email new@example.com extra --yes": "one address expected",
	} {
		if _, stderr, code := p.Run(t, key, cmd, ""); code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, %q; want %q", cmd, code, stderr, want)
		}
	}
	var em struct {
		Changed bool
		Email   string
	}
	if _, code := runJSON(t, p, key, "email new@example.com --yes", &em); code != 0 || !em.Changed || em.Email != "new@example.com" {
		t.Fatalf("email --yes --json: exit %d, %+v", code, em)
	}
	got := account(t, p, key)
	var cus stripe.Customer
	stripeGet(t, p, "customers/"+url.PathEscape(got.CustomerID), &cus)
	if got.Email != "new@example.com" || cus.Email != "new@example.com" {
		t.Errorf("after email: store %q, Stripe customer %q", got.Email, cus.Email)
	}
	if audit, _ := p.App.Store().Audit(a.ID, 1); len(audit) != 1 || audit[0].Action != "email.change" || audit[0].Before != "cmd@example.com" {
		t.Errorf("email change audit: %+v", audit)
	}
}

// A Free account has no subscription: billing's rules refuse cancel and
// resume, in words, and nothing changes.
func TestCommandForbiddenByState(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	customer(t, p, key, "free@example.com", "free")
	for _, cmd := range []string{"cancel --yes", "resume --yes"} {
		stdout, stderr, code := p.Run(t, key, cmd, "")
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "no subscription") {
			t.Errorf("%s on Free: exit %d, %q %q", cmd, code, stdout, stderr)
		}
		var e errJSON
		if _, code := runJSON(t, p, key, cmd, &e); code != 1 || !strings.Contains(e.Error, "no subscription") {
			t.Errorf("%s --json on Free: exit %d, %+v", cmd, code, e)
		}
	}
	if got := account(t, p, key); got.Plan != "free" || got.CancelAtPeriodEnd {
		t.Errorf("after refused commands: %+v", got)
	}
	// billing without a Stripe customer is refused the same way.
	if _, stderr, code := p.Run(t, key, "billing", ""); code != 1 || !strings.Contains(stderr, "no subscription") {
		t.Errorf("billing on Free without a customer: exit %d, %q", code, stderr)
	}
}

// card --wait prints the link, then returns once the card is saved.
func TestCardWait(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	customer(t, p, key, "wait@example.com", "m")
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := p.Run(t, key, "card --wait", "")
		done <- result{out, errOut, code}
	}()
	// The link is the command's first line of output: read it from the
	// sandbox's side instead, as the customer's browser would find it.
	var sessions stripe.CheckoutSessionList
	for deadline := time.Now().Add(portaltest.DefaultTimeout); ; time.Sleep(10 * time.Millisecond) {
		stripeGet(t, p, "checkout/sessions?limit=10", &sessions)
		if len(sessions.Data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkout session was made")
		}
	}
	cs := sessions.Data[0]
	postCard(t, p, cs.URL, visa)
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "/l/") || !strings.Contains(r.out, "Card saved: Visa •••• 4242") || !strings.Contains(r.errOut, "Waiting") {
		t.Errorf("card --wait: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
}
