package tui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/sshserver/cmd"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"golang.org/x/crypto/ssh"
)

// End-to-end journeys through the real SSH server on the offline sandbox:
// what a customer sees, changing by itself as Stripe (the sandbox) speaks.

const day = 24 * time.Hour

// wide is a session size where the checkout address fits on one line.
var wide = portaltest.WithSize(160, 48)

// signUp registers key with email and starts plan (by its number in the
// picker), returning the open session on the dashboard once it shows the
// plan begun: a trial's "30 days left", or Free's state.
func signUp(t *testing.T, p *portaltest.Portal, key ssh.Signer, email, pick string) *portaltest.Session {
	t.Helper()
	s := p.Connect(t, key, wide)
	s.SignUp(t, email, pick)
	if pick == "1" {
		s.WaitFor(t, "State         free")
	} else {
		s.WaitFor(t, "30 days left")
	}
	return s
}

// newJourney starts a portal (with opts) and signs a new key up as signUp
// does: the start of most journeys.
func newJourney(t *testing.T, email, pick string, opts ...portaltest.Option) (*portaltest.Portal, ssh.Signer, *portaltest.Session) {
	t.Helper()
	p := portaltest.Start(t, opts...)
	key := portaltest.NewKey(t)
	return p, key, signUp(t, p, key, email, pick)
}

// visa is the sandbox's test card that attaches and pays.
const visa = "4242424242424242"

// saveCard adds card from s's dashboard: c, a wait for each of shown on
// the add-card screen, the hosted checkout paid with card, and enter on
// "Card saved" back to the dashboard.
func saveCard(t *testing.T, p *portaltest.Portal, s *portaltest.Session, card string, shown ...string) {
	t.Helper()
	press(t, s, "c", shown...)
	payCheckoutWith(t, p, s, card)
	s.WaitFor(t, "Card saved: Visa •••• "+card[len(card)-4:])
	s.Type("enter")
}

// planLines are the dashboard's plan lines of the picker's paid plans.
var planLines = map[string]string{
	"2": "S · $9.00/month", "3": "M · $29.00/month", "4": "XL · $79.00/month",
}

// newActiveJourney is newJourney on a paid plan whose trial has converted
// with a working card saved during it: the open session on the dashboard
// of an active account.
func newActiveJourney(t *testing.T, email, pick string) (*portaltest.Portal, ssh.Signer, *portaltest.Session) {
	t.Helper()
	p, key, s := newJourney(t, email, pick)
	saveCard(t, p, s, visa)
	s.WaitFor(t, "trial, card on file")
	advance(t, p, 30*day+time.Hour)
	s.WaitFor(t, "State         active\n")
	s.WaitFor(t, "Plan          "+planLines[pick])
	return p, key, s
}

// changePlan opens the plan picker on s's dashboard, waits for each of
// shown there, moves to plan pick and presses enter.
func changePlan(t *testing.T, s *portaltest.Session, pick string, shown ...string) {
	t.Helper()
	press(t, s, "p", shown...)
	s.Type(pick)
	s.WaitFor(t, "› "+pick)
	s.Type("enter")
}

// confirm presses key on s, waits for each of shown (the question last)
// and answers y.
func confirm(t *testing.T, s *portaltest.Session, key string, shown ...string) {
	t.Helper()
	press(t, s, key, shown...)
	s.Type("y")
}

// press types key on s and waits for each of shown.
func press(t *testing.T, s *portaltest.Session, key string, shown ...string) {
	t.Helper()
	s.Type(key)
	for _, text := range shown {
		s.WaitFor(t, text)
	}
}

// chooseWithCard picks paid plan pick (named name) on s's dashboard once
// the trial is used: the picker, the note that a card is needed, and the
// Checkout screen that sells name.
func chooseWithCard(t *testing.T, s *portaltest.Session, pick, name string) {
	t.Helper()
	changePlan(t, s, pick, "card needed (trial used)")
	s.WaitFor(t, "Your trial is used, so the next step asks for a card.")
	s.Type("enter")
	s.WaitFor(t, "Start "+name+" with a card")
	s.WaitFor(t, "Waiting for Stripe")
}

func advance(t *testing.T, p *portaltest.Portal, d time.Duration) {
	t.Helper()
	if err := p.App.Sandbox().Advance(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

func account(t *testing.T, p *portaltest.Portal, key ssh.Signer) store.Account {
	t.Helper()
	a, err := p.App.Store().AccountByKey(fingerprint(key))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// shownLink is the address the add-card screen shows: a short link that
// redirects to the checkout page.
var shownLink = regexp.MustCompile(`https?://\S+/l/\S+`)

// payCheckout completes the hosted checkout page shown on s over HTTP, as
// a browser would, with a test card: it follows the short link shown to
// the checkout page and posts the card there.
func payCheckout(t *testing.T, p *portaltest.Portal, s *portaltest.Session) {
	t.Helper()
	payCheckoutWith(t, p, s, visa)
}

func TestJourneyTrialCardActive(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "ada@example.com", "3")
	s.WaitFor(t, "trial, no card yet")
	// The trial's own invoice is paid, for $0: that is not a conversion.
	cus := account(t, p, key).CustomerID
	if inv, ok := conversion(t, p, cus); ok {
		t.Fatalf("a trial that has not converted has a paying invoice: %+v", inv)
	}
	if invs := paidInvoices(t, p, cus); len(invs) != 1 || invs[0].BillingReason != stripe.InvoiceBillingReasonSubscriptionCreate {
		t.Errorf("paid invoices at trial start: %+v; want the $0 subscription_create one", invs)
	}

	advance(t, p, 27*day)
	s.WaitFor(t, "trial ends on") // the trial_will_end banner, no key pressed
	s.WaitFor(t, "3 days left")

	saveCard(t, p, s, visa) // the webhook's commit reached the open session
	s.WaitFor(t, "trial, card on file")

	advance(t, p, 3*day+time.Hour)
	s.WaitFor(t, "State         active")
	s.WaitFor(t, "Next invoice  $29.00")
	if inv, ok := conversion(t, p, account(t, p, key).CustomerID); !ok {
		t.Errorf("active, but no paid invoice beyond the trial's $0 one: %+v", paidInvoices(t, p, account(t, p, key).CustomerID))
	} else if inv.AmountPaid != 2900 {
		t.Errorf("first paid invoice after the trial: %d cents, want 2900", inv.AmountPaid)
	}
}

// paidInvoices lists the customer's paid invoices, as the sandbox's API
// has them.
func paidInvoices(t *testing.T, p *portaltest.Portal, customer string) []*stripe.Invoice {
	t.Helper()
	var list stripe.InvoiceList
	stripeGet(t, p, "invoices?status=paid&limit=100&customer="+url.QueryEscape(customer), &list)
	return list.Data
}

// conversion returns the customer's first paid invoice that is money for
// the plan: not the $0 subscription_create invoice every trial starts with.
func conversion(t *testing.T, p *portaltest.Portal, customer string) (*stripe.Invoice, bool) {
	t.Helper()
	for _, inv := range paidInvoices(t, p, customer) {
		if inv.BillingReason != stripe.InvoiceBillingReasonSubscriptionCreate && inv.AmountPaid > 0 {
			return inv, true
		}
	}
	return nil, false
}

func TestJourneyNoCardLocksThenFree(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "bob@example.com", "3")

	advance(t, p, 30*day+time.Hour)
	s.WaitFor(t, "Your account is locked") // by itself
	s.WaitFor(t, "trial ended")
	confirm(t, s, "f", "Switch to Free now? (y/n)")
	s.WaitFor(t, "Plan          Free")
	s.WaitFor(t, "State         free")
	if a := account(t, p, key); a.Plan != "free" || a.State != store.StateFree {
		t.Errorf("account after choosing free: plan %q state %q", a.Plan, a.State)
	}
}

// A move of the sandbox clock that Stripe says nothing about (no event
// falls due) still redraws open countdowns at once, not at their next
// minute tick: a demo that advances the clock sees it move.
func TestClockMoveRedrawsCountdown(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "eve@example.com", "2")
	// The trial's own webhooks redraw the screen too: let them land first,
	// so that only the clock can redraw it below.
	id := account(t, p, key).ID
	for deadline := time.Now().Add(portaltest.DefaultTimeout); ; time.Sleep(10 * time.Millisecond) {
		evs, err := p.App.Store().EventsForAccount(id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(evs, func(e store.Event) bool { return e.Type == "invoice.paid" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trial's invoice.paid never arrived: %+v", evs)
		}
	}
	advance(t, p, 2*day)
	// Well under the minute tick, which would also show it.
	s.WaitFor(t, "28 days left", 5*time.Second)
}

// Two sessions of one account both follow a change; a session of another
// account is not redrawn.
func TestLiveRefreshOnlyThatAccount(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key, other := portaltest.NewKey(t), portaltest.NewKey(t)
	s1 := signUp(t, p, key, "cy@example.com", "2")
	o := signUp(t, p, other, "dee@example.com", "1")
	s2 := p.Connect(t, key, wide)
	s2.WaitFor(t, "30 days left")
	before := o.BytesRead()

	advance(t, p, 27*day)
	s1.WaitFor(t, "trial ends on")
	s2.WaitFor(t, "trial ends on")
	if after := o.BytesRead(); after != before {
		t.Errorf("the other account's session received %d bytes", after-before)
	}
}

func TestStatusCommand(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)

	out, code := p.Exec(t, key, "status")
	if code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "not registered") {
		t.Errorf("unregistered: exit %d, output %q; want one line and a non-zero exit", code, out)
	}

	s := signUp(t, p, key, "eve@example.com", "4")
	s.Close()

	out, code = p.Exec(t, key, "status")
	if code != 0 {
		t.Fatalf("status: exit %d, %q", code, out)
	}
	for _, want := range []string{"eve@example.com", "XL · $79.00/month", "trial, no card yet", "Trial ends:", "30 days left", "no card"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	out, code = p.Exec(t, key, "status --json")
	if code != 0 {
		t.Fatalf("status --json: exit %d, %q", code, out)
	}
	var st cmd.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if st.Plan != "xl" || st.State != "trial" || st.TrialEnd == nil || st.Card != nil || st.Email != "eve@example.com" {
		t.Errorf("status --json: %+v", st)
	}

	if out, code = p.Exec(t, key, "status --yaml"); code != 2 {
		t.Errorf("bad flag: exit %d, %q", code, out)
	}
}

// Without a terminal the portal names its commands, and `help` lists
// them, so neither is a dead end; an unknown command points to help.
func TestPlainAnswersNameStatus(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	if out, code := p.Exec(t, key, ""); code == 0 || !strings.Contains(out, "status [--json]") || !strings.Contains(out, "help") {
		t.Errorf("no command: exit %d, %q; want a failure naming help and status [--json]", code, out)
	}
	if out, code := p.Exec(t, key, "help"); code != 0 || !strings.Contains(out, "status [--json]") {
		t.Errorf("help: exit %d, %q; want the list naming status [--json]", code, out)
	}
	if out, code := p.Exec(t, key, "frobnicate"); code != 2 || !strings.Contains(out, "`help` lists the commands") {
		t.Errorf("unknown command: exit %d, %q", code, out)
	}
}

func fingerprint(key ssh.Signer) string { return ssh.FingerprintSHA256(key.PublicKey()) }

// Three keys used to end the session: "ab", left, alt+d panicked inside
// bubbles' textinput. The session survives, the keys edit, and it registers.
func TestRegisterSurvivesDeleteWordForward(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	key := portaltest.NewKey(t)
	s := p.Connect(t, key, wide)
	s.WaitFor(t, "Email")
	s.Type("ab", "left")
	if _, err := s.Write([]byte("\x1bd")); err != nil { // alt+d, one write as a terminal sends it
		t.Fatal(err)
	}
	s.WaitFor(t, "> a\n")
	s.Type("backspace")
	s.Type("fay@example.com", "enter")
	s.WaitFor(t, "choose a plan")
	if a := account(t, p, key); a.Email != "fay@example.com" {
		t.Errorf("registered as %q", a.Email)
	}
}

// A key's "added" is when it was registered, on the same (wall) clock as
// the account's creation, however far the sandbox's billing clock has run.
func TestRegisterStampsKeyWithTheStoreClock(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	advance(t, p, 40*day)
	key := portaltest.NewKey(t)
	s := p.Connect(t, key, wide)
	s.WaitFor(t, "Email")
	s.Type("gus@example.com", "enter")
	s.WaitFor(t, "choose a plan")
	a := account(t, p, key)
	if len(a.Keys) != 1 || !a.Keys[0].AddedAt.Equal(a.CreatedAt) {
		t.Errorf("created %v, key added %v: want the same moment", a.CreatedAt, a.Keys)
	}
}

// TestLiveBurstEndsOnNewest: a burst of 100 commits to one account, while
// its session is busy with keys typed at the same time, ends with the
// screen on the newest state (the session loop coalesces the burst, one
// reload at a time; the registry's own test counts the reloads).
func TestLiveBurstEndsOnNewest(t *testing.T) {
	t.Parallel()
	p, key, s := newJourney(t, "burst@example.com", "1")
	a := account(t, p, key)
	db := p.App.Store()
	for i := range 100 {
		if i%10 == 0 {
			s.Type("?") // help on and off: the program has work of its own
		}
		email := fmt.Sprintf("burst-%02d@example.com", i)
		if _, err := db.UpdateAccount(a.ID, func(x *store.Account) error { x.Email = email; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	s.WaitFor(t, "burst-99@example.com")
	if got := account(t, p, key); got.Version != a.Version+100 {
		t.Errorf("version %d after 100 commits, want %d", got.Version, a.Version+100)
	}
}

// The customer's invoices: the dashboard's i lists them (date, number,
// plan, amount, status), enter shows the chosen one's Stripe page as a
// short link that opens the sandbox's hosted invoice page; `ssh host
// invoices [--json]` prints them for scripts.
func TestJourneyInvoicesScreenAndCommand(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "inv@example.com", "2")

	out, code := p.Exec(t, key, "invoices --json")
	var invs []billing.Invoice
	if err := json.Unmarshal([]byte(out), &invs); err != nil || code != 0 {
		t.Fatalf("invoices --json: exit %d, %v\n%s", code, err, out)
	}
	var paid billing.Invoice
	for _, inv := range invs {
		if inv.Amount == 900 && inv.Status == "paid" {
			paid = inv
		}
	}
	if paid.Number == "" || paid.Plan != "S" || paid.URL == "" {
		t.Fatalf("no paid $9.00 S invoice with a page among %+v", invs)
	}
	out, code = p.Exec(t, key, "invoices")
	if code != 0 || !strings.Contains(out, paid.Number) || !strings.Contains(out, "$9.00") || !strings.Contains(out, "DATE") {
		t.Errorf("invoices: exit %d\n%s", code, out)
	}

	s.Type("i")
	s.WaitFor(t, "Invoices")
	s.WaitFor(t, paid.Number)
	for !strings.Contains(lineWith(s.Screen(), paid.Number), "›") {
		before := s.Screen()
		s.Type("j")
		s.WaitScreen(t, "the cursor to move", func(scr string) bool { return scr != before })
	}
	if l := lineWith(s.Screen(), paid.Number); !strings.Contains(l, "$9.00") || !strings.Contains(l, "paid") || !strings.Contains(l, " S ") {
		t.Errorf("invoice row %q lacks plan, amount or status", l)
	}
	s.Type("enter")
	s.WaitFor(t, "on Stripe, with its PDF")
	raw := shownLink.FindString(s.Screen())
	resp, err := http.Get(onListener(t, p, raw))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), paid.Number) || !strings.Contains(string(body), "Download PDF") {
		t.Errorf("the link %s opens %d:\n%s", raw, resp.StatusCode, body)
	}
	s.Type("esc")
	s.WaitFor(t, "Your account\n")
}

// lineWith is the screen's line holding text.
func lineWith(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}
