package ops

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
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

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const adminFP = "SHA256:adminadminadminadminadminadminadminadmin00"

func openStore(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "portal.db"), store.Options{NoSync: true, Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// fakeBilling records calls and applies a plausible effect to the store, as
// the billing service would after Stripe answered.
type fakeBilling struct {
	db   *store.DB
	mu   sync.Mutex
	log  []string
	fail error // returned by every call when set
}

// record logs a call; like a Stripe call it fails on a done context.
func (f *fakeBilling) record(ctx context.Context, format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.fail
}

func (f *fakeBilling) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeBilling) change(id string, fn func(*store.Account)) (store.Account, error) {
	return f.db.UpdateAccount(id, func(a *store.Account) error { fn(a); return nil })
}

func (f *fakeBilling) ExtendTrial(ctx context.Context, id string, days int) (store.Account, error) {
	if err := f.record(ctx, "ExtendTrial %s %d", id, days); err != nil {
		return store.Account{}, err
	}
	return f.change(id, func(a *store.Account) {
		base := testNow
		if a.TrialEnd.After(base) {
			base = a.TrialEnd
		}
		a.TrialEnd = base.AddDate(0, 0, days)
		a.State, a.SubscriptionStatus = store.StateTrial, "trialing"
	})
}

func (f *fakeBilling) Resync(ctx context.Context, id string) (store.Account, error) {
	if err := f.record(ctx, "Resync %s", id); err != nil {
		return store.Account{}, err
	}
	return f.change(id, func(a *store.Account) { a.LastSyncAt = testNow })
}

func (f *fakeBilling) ChoosePlan(ctx context.Context, id, plan string) (store.Account, error) {
	if err := f.record(ctx, "ChoosePlan %s %s", id, plan); err != nil {
		return store.Account{}, err
	}
	if plan != billing.PlanFree {
		return f.change(id, func(a *store.Account) { a.Plan = plan })
	}
	return f.change(id, func(a *store.Account) {
		a.Plan, a.State, a.SubscriptionStatus = plan, store.StateFree, "canceled"
	})
}

func (f *fakeBilling) CancelSecondSubscription(ctx context.Context, id string, credit bool) (store.Account, error) {
	if err := f.record(ctx, "CancelSecondSubscription %s %t", id, credit); err != nil {
		return store.Account{}, err
	}
	return f.change(id, func(a *store.Account) { a.SecondSubscriptionID, a.SecondSubscriptionPlan = "", "" })
}

func (f *fakeBilling) CancelAtPeriodEnd(ctx context.Context, id string) (store.Account, error) {
	if err := f.record(ctx, "CancelAtPeriodEnd %s", id); err != nil {
		return store.Account{}, err
	}
	return f.change(id, func(a *store.Account) { a.CancelAtPeriodEnd, a.State = true, store.StateCanceling })
}

// fakeClock is a sandbox clock: a testkit.Clock that Advance moves only
// forward.
type fakeClock struct{ *testkit.Clock }

func (c fakeClock) Advance(_ context.Context, d time.Duration) error {
	if d < 0 {
		return errors.New("backwards")
	}
	c.Add(d)
	return nil
}

// adminSet is an Admins whose answer a test can change.
type adminSet struct {
	mu  sync.Mutex
	fps map[string]bool
}

func (a *adminSet) IsAdmin(fp string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fps[fp]
}

func (a *adminSet) set(fp string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fps[fp] = ok
}

// fixture is an Ops over a real store with a fake billing service.
type fixture struct {
	db     *store.DB
	bill   *fakeBilling
	clock  *fakeClock
	admins *adminSet
	ops    *Ops
}

func newFixture(tb testing.TB, withClock bool) *fixture {
	tb.Helper()
	db := openStore(tb)
	f := &fixture{db: db, bill: &fakeBilling{db: db}, admins: &adminSet{fps: map[string]bool{adminFP: true}}}
	cfg := Config{Store: db, Billing: f.bill, Catalog: billing.DefaultCatalog(), Admins: f.admins, Now: func() time.Time { return testNow }}
	if withClock {
		f.clock = &fakeClock{testkit.NewClock(testNow)}
		cfg.Clock = f.clock
	}
	var err error
	if f.ops, err = New(cfg); err != nil {
		tb.Fatal(err)
	}
	f.ops.tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	return f
}

// load fills the index from the store, as Run does at start.
func (f *fixture) load(tb testing.TB) {
	tb.Helper()
	if err := f.ops.reload(); err != nil {
		tb.Fatal(err)
	}
}

// common returns a session for the admin at a fixed size with plain ASCII
// styles. Its context is already cancelled, so the live-update wait returns
// at once instead of blocking the hand-driven loop (actions run detached
// from it, as in production).
func testCommon(width, height int) *common.Common {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return &common.Common{
		Ctx: ctx, Now: func() time.Time { return testNow }, Styles: common.NewStyles(r), Keys: common.NewKeyMap(),
		Identity: common.Identity{Fingerprint: adminFP}, Width: width, Height: height,
	}
}

// driver runs a model by hand: every command is executed and its message
// fed back, depth first, until none is left.
type driver struct {
	tb testing.TB
	m  tea.Model
}

func (f *fixture) drive(tb testing.TB, width, height int) *driver {
	tb.Helper()
	d := &driver{tb: tb, m: f.ops.Model(testCommon(width, height))}
	d.send(tea.WindowSizeMsg{Width: width, Height: height})
	return d
}

func (d *driver) send(msg tea.Msg) {
	d.tb.Helper()
	var cmd tea.Cmd
	d.m, cmd = d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	case tea.QuitMsg:
	default:
		d.send(msg)
	}
}

// keys sends each argument as one key press: names like "enter", "esc",
// "down" are special keys, anything else is typed rune by rune.
func (d *driver) keys(keys ...string) {
	d.tb.Helper()
	special := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft,
		"right": tea.KeyRight, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "backspace": tea.KeyBackspace,
		"pgdown": tea.KeyPgDown, "pgup": tea.KeyPgUp, "home": tea.KeyHome, "end": tea.KeyEnd, "ctrl+c": tea.KeyCtrlC,
	}
	for _, k := range keys {
		if t, ok := special[k]; ok {
			d.send(tea.KeyMsg{Type: t})
			continue
		}
		for _, r := range k {
			d.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
}

func (d *driver) view() string { return d.m.View() }

// shows reports each of want that the view v lacks (or cuts) and each of
// not that it shows.
func shows(tb testing.TB, v string, want, not []string) {
	tb.Helper()
	for _, w := range want {
		if !strings.Contains(v, w) {
			tb.Errorf("%q missing or cut:\n%s", w, v)
		}
	}
	for _, w := range not {
		if strings.Contains(v, w) {
			tb.Errorf("%q shown:\n%s", w, v)
		}
	}
}

// randomIDs matches the store's random ids, which golden files cannot hold.
var randomIDs = regexp.MustCompile(`\b(acc|ntc|aud)_[0-9a-f]{16}\b`)

// golden compares got with testdata/name.golden (rewritten with -update).
// Store-assigned random ids are replaced by a placeholder of the same width.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	got = randomIDs.ReplaceAllString(got, "${1}_XXXXXXXXXXXXXXXX")
	got = strings.Join(trimRight(strings.Split(got, "\n")), "\n")
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./tui/ops -run %s -update to create it)", err, tb.Name())
	}
	if string(want) != got {
		tb.Errorf("%s differs from the output (-update rewrites it)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func trimRight(lines []string) []string {
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// edit changes the stored account id with fn, failing the test if the store
// refuses.
func (f *fixture) edit(tb testing.TB, id string, fn func(a *store.Account)) {
	tb.Helper()
	if _, err := f.db.UpdateAccount(id, func(a *store.Account) error { fn(a); return nil }); err != nil {
		tb.Fatal(err)
	}
}
