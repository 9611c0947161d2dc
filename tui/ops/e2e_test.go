package ops_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	"golang.org/x/crypto/ssh"
)

// End-to-end tests of the ops view through SSH: the real portal on the
// offline sandbox (package portaltest), an admin keys file, real clients.

const opsTitle = "Portal ops"

// startWithAdmins runs a portal whose admin keys file lists admins.
func startWithAdmins(t *testing.T, admins ...ssh.Signer) (*portaltest.Portal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin_keys")
	var b strings.Builder
	b.WriteString("# ops team\n")
	for _, a := range admins {
		b.Write(ssh.MarshalAuthorizedKey(a.PublicKey()))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) { c.AdminKeysPath = path }))
	return p, path
}

// customerOnTrial registers key with email and starts the trial of plan m
// through the billing service, as the customer's own plan choice does.
func customerOnTrial(t *testing.T, p *portaltest.Portal, key ssh.Signer, email string) store.Account {
	t.Helper()
	db := p.App.Store()
	a, err := db.CreateAccount(email, store.Key{
		Fingerprint: ssh.FingerprintSHA256(key.PublicKey()),
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey()))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = p.App.Billing().ChoosePlan(context.Background(), a.ID, "m"); err != nil {
		t.Fatal(err)
	}
	if a.State != store.StateTrial || a.TrialEnd.IsZero() {
		t.Fatalf("no trial: %+v", a)
	}
	return a
}

// opsWithCustomer starts a portal with one admin, whose ops view it opens
// at w×h, then registers a customer with email on a trial.
func opsWithCustomer(t *testing.T, w, h int, email string) (p *portaltest.Portal, admin, customer ssh.Signer, as *portaltest.Session, acct store.Account) {
	t.Helper()
	admin, customer = portaltest.NewKey(t), portaltest.NewKey(t)
	p, _ = startWithAdmins(t, admin)
	// A first frame means SSH is served, which the app starts only once the
	// sandbox has its plan prices: only then can a trial start.
	as = p.Connect(t, admin, portaltest.WithSize(w, h))
	as.WaitFor(t, opsTitle)
	return p, admin, customer, as, customerOnTrial(t, p, customer, email)
}

// day is how both the customer dashboard and the ops detail can be matched
// for a date without depending on either's exact layout.
func day(a store.Account) string { return a.TrialEnd.UTC().Format("2 Jan") }

func TestE2EAdminExtendsTrialCustomerSeesItLive(t *testing.T) {
	t.Parallel()
	p, admin, customer, as, acct := opsWithCustomer(t, 140, 40, "live@example.com")

	cs := p.Connect(t, customer, portaltest.WithSize(100, 30))
	cs.WaitFor(t, day(acct))
	if strings.Contains(cs.Screen(), opsTitle) {
		t.Fatalf("customer sees the ops view:\n%s", cs.Screen())
	}

	as.WaitFor(t, "live@example.com") // the ops index follows the feed
	as.Type("/")
	as.WaitFor(t, "/email, fingerprint")
	as.Type("live@", "enter")
	as.WaitFor(t, "1–1 of 1")
	as.Type("enter")
	as.WaitFor(t, "Trial used")
	as.Type("e")
	as.WaitFor(t, "Extend the trial by how many days?")
	as.Type("10", "enter")
	as.WaitFor(t, "Extend the trial of live@example.com by 10 days")
	as.Type("y")
	as.WaitFor(t, "Trial of live@example.com extended")

	after, err := p.App.Store().Account(acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TrialEnd.Sub(acct.TrialEnd).Hours(); got < 10*24-1 || got > 10*24+1 {
		t.Fatalf("trial moved by %.1f hours, want 240", got)
	}
	// The customer's open session follows without a key press.
	cs.WaitFor(t, day(after))

	audit, err := p.App.Store().Audit(acct.ID, 1)
	if err != nil || len(audit) != 1 {
		t.Fatalf("audit: %v %v", audit, err)
	}
	if e := audit[0]; e.Actor != ssh.FingerprintSHA256(admin.PublicKey()) || e.Action != "extend_trial days=10" ||
		!strings.Contains(e.Before, "state=trial") || !strings.Contains(e.After, "trial_end=") || e.Before == e.After {
		t.Fatalf("audit entry %+v", e)
	}
	// The admin's detail shows its own entry.
	as.WaitFor(t, "extend_trial days=10")
}

// offeredOnly offers a public key it cannot sign for: the server accepts
// the offer, the signature is refused, and the client moves on to its next
// key (CVE-2024-45337's sequence).
type offeredOnly struct {
	pub   ssh.PublicKey
	signs atomic.Int32
}

func (o *offeredOnly) PublicKey() ssh.PublicKey { return o.pub }

func (o *offeredOnly) Sign(io.Reader, []byte) (*ssh.Signature, error) {
	o.signs.Add(1)
	return &ssh.Signature{Format: ssh.KeyAlgoRSASHA256, Blob: make([]byte, 256)}, nil
}

// TestE2ENonAdminCannotReachOps tries every route a non-admin has: a
// telling user name, commands, the admin's key offered without its private
// half, the ops view's own keys typed into the customer UI, and an admin
// key removed from the file.
func TestE2ENonAdminCannotReachOps(t *testing.T) {
	t.Parallel()
	admin, mallory := portaltest.NewKey(t), portaltest.NewKey(t)
	p, path := startWithAdmins(t, admin)

	// The control: the admin key does reach it.
	as := p.Connect(t, admin, portaltest.WithSize(120, 30))
	as.WaitFor(t, opsTitle)
	as.Close()

	notOps := func(t *testing.T, s *portaltest.Session) {
		t.Helper()
		s.WaitFor(t, "Email") // the register screen of an unknown key
		if scr := s.Screen(); strings.Contains(scr, opsTitle) || strings.Contains(scr, ssh.FingerprintSHA256(admin.PublicKey())) {
			t.Fatalf("non-admin reached the ops view or the admin's identity:\n%s", scr)
		}
	}

	t.Run("user name", func(t *testing.T) {
		for _, user := range []string{"admin", "root", "ops", ssh.FingerprintSHA256(admin.PublicKey())} {
			notOps(t, p.Connect(t, mallory, portaltest.WithSize(120, 30), portaltest.WithUser(user)))
		}
	})

	t.Run("command", func(t *testing.T) {
		for _, key := range []ssh.Signer{mallory, admin} {
			for _, cmd := range []string{"ops", "admin", "ops --accounts"} {
				out, exit := p.Exec(t, key, cmd)
				if exit == 0 || strings.Contains(out, opsTitle) || strings.Contains(out, "@") {
					t.Errorf("%q: exit %d, output %q", cmd, exit, out)
				}
			}
		}
	})

	t.Run("offered admin key", func(t *testing.T) {
		stolen := &offeredOnly{pub: admin.PublicKey()}
		s := p.Connect(t, nil, portaltest.WithSize(120, 30), portaltest.WithAuth(ssh.PublicKeys(stolen, mallory)))
		notOps(t, s)
		if stolen.signs.Load() == 0 {
			t.Fatal("the admin key was never offered: the test did not exercise the bypass")
		}
		s.WaitFor(t, ssh.FingerprintSHA256(mallory.PublicKey()))
	})

	t.Run("ops keys in the customer UI", func(t *testing.T) {
		s := p.Connect(t, mallory, portaltest.WithSize(120, 30))
		notOps(t, s)
		for _, k := range []string{"esc", "4", "tab", "esc", "ctrl+o", "f1", "esc"} {
			s.Type(k)
		}
		s.Type("probe")
		s.WaitFor(t, "probe") // every key above was read
		if scr := s.Screen(); strings.Contains(scr, opsTitle) {
			t.Fatalf("keys led to the ops view:\n%s", scr)
		}
	})

	t.Run("removed admin", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("# nobody\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := p.Connect(t, admin, portaltest.WithSize(120, 30))
		s.WaitFor(t, "Email")
		if strings.Contains(s.Screen(), opsTitle) {
			t.Fatalf("a removed admin key still reaches the ops view:\n%s", s.Screen())
		}
	})
}

// A shutdown ends an open ops session the way it ends a customer's: the
// program quits at once and the admin is told why, instead of the
// connection being cut when the shutdown's deadline runs out.
func TestE2EShutdownEndsOpsSessionWithNotice(t *testing.T) {
	t.Parallel()
	p, _, customer, as, _ := opsWithCustomer(t, 100, 30, "bye@example.com")
	cs := p.Connect(t, customer, portaltest.WithSize(100, 30))
	cs.WaitFor(t, "Your account")

	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop() }()
	for _, s := range []*portaltest.Session{cs, as} {
		s.WaitFor(t, "going down for maintenance")
		s.WaitClosed(t)
		s.Close() // as ssh does once its session ends; the server waits for the connection
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
}

// The mail tab over SSH: a mail the mailer gave up on shows as failed with
// its error, and the admin re-sends it (confirmed): the same notice is back
// in the outbox, due at once, and the action is audited.
func TestE2EAdminResendsFailedMail(t *testing.T) {
	t.Parallel()
	p, admin, _, as, acct := opsWithCustomer(t, 100, 30, "mail@example.com")
	db := p.App.Store()
	n, _, err := db.AddNotice(store.Notice{AccountID: acct.ID, Kind: "payment_failed", Key: "e2e", Message: "Your payment failed."})
	if err != nil {
		t.Fatal(err)
	}
	// As the mailer records its last try: failed, and no next one.
	if err := db.MarkMailed(n.ID, time.Now(), errors.New("smtp: 550 mailbox unavailable"), time.Time{}); err != nil {
		t.Fatal(err)
	}

	as.WaitFor(t, "mail@example.com") // the index has the account
	as.Type("6")
	as.WaitFor(t, "FAILED   payment_failed")
	as.WaitFor(t, "last error: smtp: 550 mailbox unavailable")
	as.Type("r")
	as.WaitFor(t, "Send the payment_failed notice to mail@example.com again")
	as.Type("y")
	as.WaitFor(t, "payment_failed notice queued again for mail@example.com")

	var again store.Notice
	if err := db.View(context.Background(), func(rt store.ReadTx) (err error) { again, err = rt.Notice(n.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if again.MailStatus() != store.MailQueued || again.MailTries != 0 || again.MailError != "" {
		t.Fatalf("after re-send: %+v", again)
	}
	audit, err := db.Audit(acct.ID, 1)
	if err != nil || len(audit) != 1 {
		t.Fatalf("audit: %v %v", audit, err)
	}
	if e := audit[0]; e.Actor != ssh.FingerprintSHA256(admin.PublicKey()) || !strings.HasPrefix(e.Action, "resend_notice notice="+n.ID) ||
		!strings.Contains(e.Before, "mail=failed") || !strings.Contains(e.After, "mail=queued") {
		t.Fatalf("audit entry %+v", e)
	}
}
