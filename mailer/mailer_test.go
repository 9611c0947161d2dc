package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/accounts"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
)

const testPassword = "pa55-W0rd:with@odd/chars"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is a store with one account and a notice in its outbox.
type env struct {
	db     *store.DB
	clk    *testkit.Clock
	acct   store.Account
	notice store.Notice
	logs   *testkit.Buffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clk := testkit.NewClock(t0)
	db, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), store.Options{NoSync: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, err := db.CreateAccount("alice@example.com", store.Key{Fingerprint: "SHA256:alice", PublicKey: "ssh-ed25519 AAAA"})
	if err != nil {
		t.Fatal(err)
	}
	a, err = db.UpdateAccount(a.ID, func(a *store.Account) error {
		a.Plan, a.State, a.TrialEnd = "m", store.StateTrial, t0.Add(72*time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, clk: clk, acct: a, logs: &testkit.Buffer{}}
	e.notice = e.addNotice(t, billing.NoticeTrialWillEnd, "sub_1/1772625600", "Your trial ends in 3 days.")
	return e
}

func (e *env) addNotice(t testing.TB, kind store.NoticeKind, key, msg string) store.Notice {
	t.Helper()
	n, added, err := e.db.AddNotice(store.Notice{AccountID: e.acct.ID, Kind: kind, Key: key, Message: msg})
	if err != nil || !added {
		t.Fatalf("AddNotice: added=%v err=%v", added, err)
	}
	return n
}

// smtpURL builds a URL for the test server; user "" means no AUTH.
func smtpURL(ts *testServer, user, pass, tlsMode string) string {
	u := url.URL{Scheme: "smtp", Host: ts.Addr(),
		RawQuery: url.Values{"from": {"Billing <billing@example.com>"}, "tls": {tlsMode}}.Encode()}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

func (e *env) mailer(t testing.TB, rawURL string, mod func(*Config)) *Mailer {
	t.Helper()
	cfg := Config{
		URL:     rawURL,
		Store:   e.db,
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     e.clk.Now,
		Backoff: func(int) time.Duration { return time.Minute },
		Timeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		t.Fatal("New returned a nil Mailer for a configured URL")
	}
	return m
}

// flushNotDue moves the clock by d and flushes m, which must find no notice
// due yet: the server has still seen only tries DATA commands.
func (e *env) flushNotDue(t testing.TB, m *Mailer, ts *testServer, d time.Duration, tries int) {
	t.Helper()
	e.clk.Add(d)
	if err := m.Flush(context.Background()); err != nil {
		t.Fatalf("Flush %v later, before the retry time: %v", d, err)
	}
	if got := ts.DataTries(); got != tries {
		t.Fatalf("server saw %d DATA %v later, before the retry time; want %d", got, d, tries)
	}
}

func (e *env) stored(t testing.TB, id string) store.Notice {
	t.Helper()
	ns, err := e.db.Notices(e.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("notice %s not found", id)
	return store.Notice{}
}

func (e *env) outbox(t testing.TB) []store.Notice {
	t.Helper()
	out, err := e.db.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parsed is a received message decoded for assertions.
type parsed struct {
	hdr  mail.Header
	body string
}

func parse(t testing.TB, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	var r io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{hdr: msg.Header, body: string(body)}
}

func (p parsed) subject(t testing.TB) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(p.hdr.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeliverPlainAuthLoopback(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{user: "billing", pass: testPassword})
	m := e.mailer(t, smtpURL(ts, "billing", testPassword, "none"), nil)

	if err := m.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	msgs := ts.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "billing@example.com" || len(got.To) != 1 || got.To[0] != "alice@example.com" {
		t.Errorf("envelope = from %q to %q", got.From, got.To)
	}
	p := parse(t, got.Data)
	from, err := mail.ParseAddress(p.hdr.Get("From"))
	if err != nil || from.Address != "billing@example.com" || from.Name != "Billing" {
		t.Errorf("From header = %q (%v)", p.hdr.Get("From"), err)
	}
	if to := p.hdr.Get("To"); !strings.Contains(to, "alice@example.com") {
		t.Errorf("To header = %q", to)
	}
	if s, want := p.subject(t), "Your trial ends on Wed, 4 Mar 2026 (UTC)"; s != want {
		t.Errorf("Subject = %q, want %q", s, want)
	}
	for _, want := range []string{"Your trial ends in 3 days.", "Add a card", e.acct.ID} {
		if !strings.Contains(p.body, want) {
			t.Errorf("body lacks %q:\n%s", want, p.body)
		}
	}
	if ct := p.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
	if id := p.hdr.Get("Message-Id"); id != "<"+e.notice.ID+"@example.com>" {
		t.Errorf("Message-ID = %q", id)
	}
	if p.hdr.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", p.hdr.Get("Auto-Submitted"))
	}

	n := e.stored(t, e.notice.ID)
	if !n.MailedAt.Equal(t0) || n.MailError != "" || n.MailTries != 0 {
		t.Errorf("stored notice = mailed %v, error %q, tries %d", n.MailedAt, n.MailError, n.MailTries)
	}
	if out := e.outbox(t); len(out) != 0 {
		t.Errorf("outbox = %d notices, want 0", len(out))
	}
	// A second pass has nothing to send.
	if err := m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.Messages()); n != 1 {
		t.Errorf("after a second Flush the server has %d messages, want 1", n)
	}
	if strings.Contains(e.logs.String(), testPassword) {
		t.Errorf("password in logs:\n%s", e.logs)
	}
}

// go-mail v0.8.1 joins host and port without brackets; the mailer dials itself.
func TestIPv6Loopback(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{user: "billing", pass: testPassword, listen: "[::1]:0"})
	m := e.mailer(t, smtpURL(ts, "billing", testPassword, "none"), nil)
	if err := m.Flush(context.Background()); err != nil {
		t.Fatalf("Flush to %s: %v", ts.Addr(), err)
	}
	if len(ts.Messages()) != 1 {
		t.Fatalf("server has %d messages, want 1", len(ts.Messages()))
	}
}

func TestRetryWithBackoffThenMailed(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{})
	ts.RejectData(2)
	var asked []int
	m := e.mailer(t, smtpURL(ts, "", "", "none"), func(c *Config) {
		c.Backoff = func(tries int) time.Duration {
			asked = append(asked, tries)
			return time.Duration(tries) * time.Minute
		}
	})
	ctx := context.Background()

	err := m.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("first Flush error = %v, want the server's 451", err)
	}
	n := e.stored(t, e.notice.ID)
	if n.MailTries != 1 || !strings.Contains(n.MailError, "451") || !n.MailedAt.IsZero() {
		t.Fatalf("after one failure: tries %d, error %q, mailed %v", n.MailTries, n.MailError, n.MailedAt)
	}

	// Not due yet: no attempt.
	e.flushNotDue(t, m, ts, 59*time.Second, 1)

	e.clk.Add(time.Second)
	if err := m.Flush(ctx); err == nil {
		t.Fatal("second try: want the server's rejection")
	}
	e.flushNotDue(t, m, ts, time.Minute, 2) // second failure waits 2 minutes
	e.clk.Add(time.Minute)
	if err := m.Flush(ctx); err != nil {
		t.Fatalf("third try: %v", err)
	}

	if len(ts.Messages()) != 1 {
		t.Fatalf("server has %d messages, want 1", len(ts.Messages()))
	}
	n = e.stored(t, e.notice.ID)
	if n.MailTries != 2 || n.MailError != "" || !n.MailedAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("final notice: tries %d, error %q, mailed %v", n.MailTries, n.MailError, n.MailedAt)
	}
	if fmt.Sprint(asked) != "[1 2]" {
		t.Errorf("Backoff called with %v, want [1 2]", asked)
	}
}

func TestGiveUpAfterMaxTries(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{})
	ts.RejectData(1000)
	m := e.mailer(t, smtpURL(ts, "", "", "none"), func(c *Config) { c.MaxTries = 2 })
	for range 3 {
		m.Flush(context.Background())
		e.clk.Add(time.Hour)
	}
	if got := ts.DataTries(); got != 2 {
		t.Errorf("server saw %d tries, want MaxTries = 2", got)
	}
	out := e.outbox(t)
	if len(out) != 1 || out[0].MailTries != 2 || !strings.Contains(out[0].MailError, "451") {
		t.Errorf("outbox after giving up = %+v, want the notice with 2 tries and its error", out)
	}
	if !strings.Contains(e.logs.String(), "giving up") {
		t.Errorf("no give-up log:\n%s", e.logs)
	}
}

func TestRunMailsOnChangeAndRetries(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{})
	ts.RejectData(1)
	// Real clock and a short backoff: Run's own retry timer must fire.
	m := e.mailer(t, smtpURL(ts, "", "", "none"), func(c *Config) {
		c.Now = time.Now
		c.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	if err := waitFor(t, func() bool { return len(ts.Messages()) == 1 }); err != nil {
		t.Fatalf("waiting for the first notice after a rejection: %v (%d DATA seen)", err, ts.DataTries())
	}
	// A notice added while Run waits is mailed through the change feed.
	second := e.addNotice(t, billing.NoticeCardAdded, "pm_1", "A card was added.")
	if err := waitFor(t, func() bool { return len(ts.Messages()) == 2 }); err != nil {
		t.Fatalf("waiting for the notice added later: %v", err)
	}
	if err := waitFor(t, func() bool { return len(e.outbox(t)) == 0 }); err != nil {
		t.Fatalf("outbox not drained: %+v", e.outbox(t))
	}
	p := parse(t, ts.Messages()[1].Data)
	if s := p.subject(t); s != "Card added to your account" {
		t.Errorf("second message subject = %q (notice %s)", s, second.ID)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// Shutdown does not wait for a stalled server, and an interrupted send is
// not counted as a failed try.
func TestFlushCancelledMidSend(t *testing.T) {
	e := newEnv(t)
	stall := make(chan struct{})
	ts := startServer(t, serverOpts{stall: stall})
	defer close(stall) // before the server's cleanup, which waits for the session
	m := e.mailer(t, smtpURL(ts, "", "", "none"), func(c *Config) { c.Timeout = time.Minute })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Flush(ctx) }()
	if err := waitFor(t, func() bool { o, _ := ts.Sessions(); return o == 1 }); err != nil {
		t.Fatal("no session opened")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Flush = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Flush still waiting on a stalled server after its context ended")
	}
	if n := e.stored(t, e.notice.ID); n.MailTries != 0 || n.MailError != "" {
		t.Errorf("interrupted send recorded as a try: tries %d, error %q", n.MailTries, n.MailError)
	}
}

func TestDisabledWithoutURL(t *testing.T) {
	e := newEnv(t)
	m, err := New(Config{Store: e.db})
	if err != nil || m != nil {
		t.Fatalf("New without URL = %v, %v; want nil, nil", m, err)
	}
	if err := m.Flush(context.Background()); err != nil {
		t.Errorf("nil Mailer Flush = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.Run(ctx) // returns at once: the context is over
	out := e.outbox(t)
	if len(out) != 1 || out[0].ID != e.notice.ID || out[0].MailTries != 0 {
		t.Errorf("outbox = %+v, want the untouched notice", out)
	}
}

func TestPasswordNeverInLogsOrErrors(t *testing.T) {
	e := newEnv(t)
	// The server rejects the password and, carelessly, quotes it back.
	ts := startServer(t, serverOpts{user: "billing", pass: "the-right-one", echoPassword: true})
	m := e.mailer(t, smtpURL(ts, "billing", testPassword, "none"), nil)
	err := m.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("Flush = %v, want the server's 535", err)
	}
	n := e.stored(t, e.notice.ID)
	for what, s := range map[string]string{
		"Flush error": err.Error(),
		"MailError":   n.MailError,
		"logs":        e.logs.String(),
		"Settings":    fmt.Sprintf("%v %+v %#v %s", m.Settings(), m.Settings(), m.Settings(), m.Settings()),
	} {
		if strings.Contains(s, testPassword) {
			t.Errorf("%s contains the password: %s", what, s)
		}
	}
	if !strings.Contains(n.MailError, "xxxxx") {
		t.Errorf("MailError = %q, want the echoed password redacted", n.MailError)
	}
}

func TestTLSModes(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, tc := range []struct {
		mode     string
		implicit bool
	}{
		{"starttls", false},
		{"tls", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := newEnv(t)
			ts := startServer(t, serverOpts{user: "billing", pass: testPassword, tls: serverTLS, implicit: tc.implicit})
			m := e.mailer(t, smtpURL(ts, "billing", testPassword, tc.mode), func(c *Config) { c.TLSConfig = clientTLS })
			if err := m.Flush(context.Background()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if len(ts.Messages()) != 1 {
				t.Fatalf("server has %d messages, want 1", len(ts.Messages()))
			}
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		e := newEnv(t)
		ts := startServer(t, serverOpts{tls: serverTLS})
		m := e.mailer(t, smtpURL(ts, "", "", "starttls"), func(c *Config) { c.TLSConfig = &tls.Config{} })
		if err := m.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Flush = %v, want a certificate error", err)
		}
		if len(ts.Messages()) != 0 {
			t.Fatal("message sent over an unverified connection")
		}
	})

	t.Run("starttls required", func(t *testing.T) {
		e := newEnv(t)
		ts := startServer(t, serverOpts{}) // offers no STARTTLS
		m := e.mailer(t, smtpURL(ts, "", "", "starttls"), nil)
		if err := m.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("Flush = %v, want a STARTTLS error (no downgrade)", err)
		}
		if len(ts.Messages()) != 0 {
			t.Fatal("message sent in clear text despite tls=starttls")
		}
		// go-mail v0.8.1 leaves the socket open when the session fails
		// before AUTH; the mailer must close it.
		if err := waitFor(t, func() bool { o, c := ts.Sessions(); return o == 1 && c == 1 }); err != nil {
			o, c := ts.Sessions()
			t.Errorf("server sessions opened %d, ended %d: the failed connection was not closed", o, c)
		}
	})
}

func TestUnknownAccountCountsAsFailedTry(t *testing.T) {
	e := newEnv(t)
	ts := startServer(t, serverOpts{})
	m := e.mailer(t, smtpURL(ts, "", "", "none"), nil)
	// An email that go-mail cannot address is a compose failure, recorded
	// on the notice; the server is never asked.
	if _, err := e.db.UpdateAccount(e.acct.ID, func(a *store.Account) error {
		a.Email = "not an address"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(context.Background()); err == nil {
		t.Fatal("Flush with an invalid recipient: want an error")
	}
	n := e.stored(t, e.notice.ID)
	if n.MailTries != 1 || !strings.Contains(n.MailError, "compose") {
		t.Errorf("notice = tries %d, error %q", n.MailTries, n.MailError)
	}
	if o, _ := ts.Sessions(); o != 0 || ts.DataTries() != 0 {
		t.Errorf("server contacted (%d sessions) though nothing could be sent", o)
	}
}

func TestNewErrors(t *testing.T) {
	e := newEnv(t)
	if _, err := New(Config{URL: "smtp://127.0.0.1:25?from=a@b.example&tls=none"}); err == nil {
		t.Error("New without Store: want an error")
	}
	_, err := New(Config{URL: "smtp://u:" + url.QueryEscape(testPassword) + "@mail.example.com?tls=none&from=a@b.example", Store: e.db})
	if err == nil || strings.Contains(err.Error(), testPassword) {
		t.Errorf("New with a clear-text password to a remote host = %v", err)
	}
}

func TestComposeEveryKind(t *testing.T) {
	a := store.Account{ID: "acc_1", Email: "a@example.com", Plan: "xl", TrialEnd: t0,
		HasCard: true, CardBrand: "visa", CardLast4: "4242"}
	subjects := map[string]bool{}
	for _, kind := range []store.NoticeKind{billing.NoticeTrialWillEnd, billing.NoticePaymentFailed, billing.NoticeTrialEnded, billing.NoticeCardAdded, billing.NoticePlanChanged, billing.NoticeUpgradeFailed, accounts.KindKeyAdded, "something_new"} {
		c := Compose(store.Notice{Kind: kind, Message: "Banner text."}, a)
		if c.Subject == "" || subjects[c.Subject] {
			t.Errorf("%s: subject %q empty or shared with another kind", kind, c.Subject)
		}
		subjects[c.Subject] = true
		if !strings.Contains(c.Body, "Banner text.") || !strings.Contains(c.Body, "acc_1") {
			t.Errorf("%s: body lacks the message or account id:\n%s", kind, c.Body)
		}
	}
	if c := Compose(store.Notice{Kind: billing.NoticeTrialWillEnd}, a); !strings.Contains(c.Body, "will be charged") {
		t.Errorf("trial_will_end with a card:\n%s", c.Body)
	}
}
