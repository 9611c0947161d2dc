package tui

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

var update = flag.Bool("update", false, "rewrite tui/testdata/*.golden from the current views")

// fixedNow is the billing clock of every golden: Thursday 27 Nov 2025, so a
// trial ending Tue 9 Dec 14:00 UTC has 12 days 4 hours left.
var fixedNow = time.Date(2025, 11, 27, 10, 0, 0, 0, time.UTC)

const testFingerprint = "SHA256:uN1tT3stK3yF1ng3rpr1ntAAAAAAAAAAAAAAAAAAAAAA"

// fakeBilling answers like billing.Service from canned results and records
// what it was asked.
type fakeBilling struct {
	mu sync.Mutex
	*testkit.Clock
	account store.Account // returned by the account-changing calls
	link    billing.Link
	preview billing.Preview
	// invoices is what Invoices lists.
	invoices []billing.Invoice
	err      error // returned by every call when set
	calls    []string
	trial    int // days
}

func newFakeBilling() *fakeBilling {
	return &fakeBilling{Clock: testkit.NewClock(fixedNow), trial: 30}
}

func (f *fakeBilling) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeBilling) Catalog() billing.Catalog { return billing.DefaultCatalog() }

func (f *fakeBilling) TrialDays() int { return f.trial }

func (f *fakeBilling) ChoosePlan(_ context.Context, _, plan string) (store.Account, error) {
	return f.account, f.record("ChoosePlan " + plan)
}
func (f *fakeBilling) PreviewChange(_ context.Context, _, plan string) (billing.Preview, error) {
	return f.preview, f.record("PreviewChange " + plan)
}
func (f *fakeBilling) CancelAtPeriodEnd(context.Context, string) (store.Account, error) {
	return f.account, f.record("CancelAtPeriodEnd")
}
func (f *fakeBilling) UndoCancel(context.Context, string) (store.Account, error) {
	return f.account, f.record("UndoCancel")
}
func (f *fakeBilling) UndoDowngrade(context.Context, string) (store.Account, error) {
	return f.account, f.record("UndoDowngrade")
}
func (f *fakeBilling) CardLink(context.Context, string) (billing.Link, error) {
	return f.link, f.record("CardLink")
}
func (f *fakeBilling) CheckoutLink(_ context.Context, _, plan string) (billing.Link, error) {
	return f.link, f.record("CheckoutLink " + plan)
}
func (f *fakeBilling) PortalLink(context.Context, string) (billing.Link, error) {
	return f.link, f.record("PortalLink")
}
func (f *fakeBilling) ChangeEmail(_ context.Context, _, email, _ string) (store.Account, error) {
	a := f.account
	a.Email = email
	return a, f.record("ChangeEmail " + email)
}
func (f *fakeBilling) Invoices(context.Context, string) ([]billing.Invoice, error) {
	return f.invoices, f.record("Invoices")
}
func (f *fakeBilling) InvoiceLink(_ context.Context, _, id string) (billing.Link, error) {
	return f.link, f.record("InvoiceLink " + id)
}

// scheduled is a tick the harness holds instead of waiting for it.
type scheduled struct {
	d   time.Duration
	msg tea.Msg
}

// harness drives a root Model without a terminal: messages go through
// Update and every command runs at once, except ticks, which are recorded.
type harness struct {
	tb    testing.TB
	m     *Model
	fb    *fakeBilling
	e     *env
	ticks []scheduled
	sent  int // messages delivered, to stop a command loop
}

// newHarness builds a session at w×h with the ASCII profile on a dark
// background, as NO_COLOR gives.
func newHarness(tb testing.TB, width, height int) *harness {
	tb.Helper()
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	fb := newFakeBilling()
	c := &common.Common{
		Ctx:      context.Background(),
		Logger:   slog.New(slog.DiscardHandler),
		Now:      fb.Now,
		Styles:   common.NewStyles(r),
		Keys:     common.NewKeyMap(),
		Identity: common.Identity{Fingerprint: testFingerprint},
	}
	h := &harness{tb: tb, fb: fb}
	h.e = &env{Common: c, billing: fb, renderer: r}
	h.e.schedule = func(d time.Duration, msg tea.Msg) tea.Cmd {
		h.ticks = append(h.ticks, scheduled{d, msg})
		return nil
	}
	h.m = newModel(h.e)
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	return h
}

func (h *harness) send(msg tea.Msg) {
	h.tb.Helper()
	if h.sent++; h.sent > 1000 {
		h.tb.Fatalf("more than 1000 messages: a command loop? last %T", msg)
	}
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	h.tb.Helper()
	if cmd == nil {
		return
	}
	msg := cmd()
	if msg == nil {
		return
	}
	// tea.Batch and tea.Sequence both yield a slice of commands (Sequence's
	// type is unexported); run them in order.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeFor[tea.Cmd]() {
		for i := range v.Len() {
			h.run(v.Index(i).Interface().(tea.Cmd))
		}
		return
	}
	h.send(msg)
}

// load shows account a (and notices) as a fresh read from the store would.
func (h *harness) load(a store.Account, notices ...store.Notice) *harness {
	h.tb.Helper()
	h.send(accountLoadedMsg{Account: a, Notices: notices})
	return h
}

// keys types each key: a name (enter, esc, up, down, tab) or one rune.
func (h *harness) keys(keys ...string) *harness {
	h.tb.Helper()
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEscape}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		h.send(msg)
	}
	return h
}

// fire delivers the recorded ticks, as their timers would.
func (h *harness) fire() {
	h.tb.Helper()
	ticks := h.ticks
	h.ticks = nil
	for _, t := range ticks {
		h.send(t.msg)
	}
}

func (h *harness) view() string { return h.m.View() }

// checkGolden compares got with testdata/name.golden (rewritten with -update).
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./tui -run %s -update to create it)", err, tb.Name())
	}
	if got != string(want) {
		tb.Errorf("%s differs from the golden file (go test ./tui -update rewrites it):\n--- got\n%s\n--- want\n%s",
			name, visible(got), visible(string(want)))
	}
}

// visible marks line ends so trailing spaces show in a failure.
func visible(s string) string { return strings.ReplaceAll(s, "\n", "⏎\n") }

// Accounts in each state, on the fixed clock.
var trialEnd = time.Date(2025, 12, 9, 14, 0, 0, 0, time.UTC)

func baseAccount() store.Account {
	return store.Account{
		ID: "acc_test0000000000", Email: "dev@example.com", CreatedAt: fixedNow.Add(-time.Hour),
		Keys: []store.Key{{Fingerprint: testFingerprint}},
	}
}

func newAccount() store.Account { return baseAccount() }

func freeAccount() store.Account {
	a := baseAccount()
	a.Plan, a.State = "free", store.StateFree
	return a
}

func trialAccount() store.Account {
	a := baseAccount()
	a.Plan, a.State, a.TrialUsed, a.TrialEnd = "m", store.StateTrial, true, trialEnd
	a.CustomerID, a.SubscriptionID, a.SubscriptionStatus = "cus_test", "sub_test", "trialing"
	a.CurrentPeriodEnd, a.Currency = trialEnd, "usd"
	a.NextInvoiceAt, a.NextInvoiceAmount = trialEnd, 2900
	return a
}

func withCard(a store.Account) store.Account {
	a.HasCard, a.CardBrand, a.CardLast4 = true, "visa", "4242"
	return a
}

func activeAccount() store.Account {
	a := withCard(trialAccount())
	a.State, a.SubscriptionStatus = store.StateActive, "active"
	a.CurrentPeriodEnd = time.Date(2025, 12, 20, 9, 30, 0, 0, time.UTC)
	a.NextInvoiceAt = a.CurrentPeriodEnd
	return a
}

func trialUsedAccount() store.Account {
	a := newAccount()
	a.TrialUsed = true
	return a
}

// pausedAccount's trial ended without a card (the default end behaviour).
func pausedAccount() store.Account {
	a := trialAccount()
	a.State, a.SubscriptionStatus = store.StateLockedTrialEnded, "paused"
	return a
}

func cancelingAccount() store.Account {
	a := activeAccount()
	a.State, a.CancelAtPeriodEnd = store.StateCanceling, true
	return a
}

func pastDueAccount() store.Account {
	a := activeAccount()
	a.State, a.SubscriptionStatus, a.AmountDue = store.StatePastDue, "past_due", 2900
	return a
}

// actionAccount's renewal waits for the customer to confirm it (3-D Secure).
func actionAccount() store.Account {
	a := pastDueAccount()
	a.ActionInvoiceID, a.ActionURL = "in_3ds", "http://localhost:8080/l/Zx3dsInvoice"
	return a
}

func canceledAccount() store.Account {
	a := activeAccount()
	a.State, a.SubscriptionStatus = store.StateLockedCanceled, "canceled"
	return a
}
