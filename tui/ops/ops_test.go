package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
)

// waitIndex waits, on the index's own change signal, until ok holds. The
// timeout only bounds a failing test.
func waitIndex(tb testing.TB, ix *index, what string, ok func() bool) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		_, ch := ix.watch()
		if ok() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("index never showed %s", what)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	db := openStore(t)
	if _, err := New(Config{Billing: &fakeBilling{}}); err == nil {
		t.Error("no error without a store")
	}
	if _, err := New(Config{Store: db}); err == nil {
		t.Error("no error without billing")
	}
	clock := &fakeClock{testkit.NewClock(testNow.Add(time.Hour))}
	o, err := New(Config{Store: db, Billing: &fakeBilling{db: db}, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if !o.cfg.Now().Equal(clock.Now()) {
		t.Error("views do not read the sandbox clock by default")
	}
}

func TestRunLoadsAndFollowsTheFeed(t *testing.T) {
	f := newFixture(t, false)
	ids := seed(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.ops.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitIndex(t, f.ops.idx, "the seeded accounts", func() bool { return f.ops.idx.run(query{limit: 1}).size == len(ids) })

	a, err := f.db.CreateAccount("new@example.com", store.Key{Fingerprint: fp("new")})
	if err != nil {
		t.Fatal(err)
	}
	waitIndex(t, f.ops.idx, "the new account", func() bool {
		return f.ops.idx.run(query{search: fp("new"), limit: 1}).total == 1
	})
	f.edit(t, a.ID, func(a *store.Account) {
		a.Plan, a.State, a.CustomerID = "s", store.StateTrial, "cus_New"
	})
	waitIndex(t, f.ops.idx, "the update", func() bool {
		res := f.ops.idx.run(query{states: []store.State{store.StateTrial}, plans: []string{"s"}, search: "cus_new", limit: 1})
		return res.total == 1
	})
	cancel()
	<-done
}

func TestRunEndsWhenTheStoreCloses(t *testing.T) {
	f := newFixture(t, false)
	done := make(chan struct{})
	go func() { defer close(done); f.ops.Run(context.Background()) }()
	waitIndex(t, f.ops.idx, "the first load", func() bool { return f.ops.idx.run(query{}).loaded })
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
}

// TestLiveDetailRefresh: a change made elsewhere (the customer, a webhook)
// reaches an open detail screen through the index, and a change to another
// account does not make it re-read.
func TestLiveDetailRefresh(t *testing.T) {
	f, ids := goldenFixture(t, false)
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter")
	if !strings.Contains(d.view(), "trial (no card)") {
		t.Fatalf("detail not shown:\n%s", d.view())
	}
	for _, id := range []string{ids["alice"], ids["bob"]} {
		f.edit(t, id, func(a *store.Account) {
			a.HasCard, a.CardBrand, a.CardLast4 = true, "visa", "4242"
		})
	}
	if err := f.ops.refresh(map[string]struct{}{ids["alice"]: {}, ids["bob"]: {}}); err != nil {
		t.Fatal(err)
	}
	gen, _ := f.ops.idx.watch()
	d.send(indexChangedMsg{gen: gen})
	v := d.view()
	if !strings.Contains(v, "visa 4242") || strings.Contains(v, "trial (no card)") {
		t.Fatalf("detail did not follow the change:\n%s", v)
	}
	d.keys("esc")
	if v := d.view(); !strings.Contains(v, "alice@example.com") || !strings.Contains(v, "1–1 of 1") {
		t.Fatalf("back to the table lost the search:\n%s", v)
	}
}

// TestWaitChangeDeliversOnce: the live-update command wakes on a change,
// not before, and coalesces a burst into one message.
func TestWaitChangeDeliversOnce(t *testing.T) {
	f := newFixture(t, false)
	f.load(t)
	gen, _ := f.ops.idx.watch()
	got := make(chan tea.Msg, 1)
	go func() { got <- f.ops.waitChange(context.Background(), gen)() }()
	select {
	case msg := <-got:
		t.Fatalf("delivered %v before any change", msg)
	default:
	}
	for i := range 5 {
		f.ops.idx.apply([]store.Account{{ID: "acc_" + string(rune('a'+i)), Email: "x@example.com", Version: 1}}, nil)
	}
	msg := (<-got).(indexChangedMsg)
	if now, _ := f.ops.idx.watch(); msg.gen != now {
		t.Fatalf("delivered gen %d, index at %d", msg.gen, now)
	}
}

// The live path: a conversion billing records on the account reaches the
// figure through refresh, and the account stays converted once it cancels.
func TestConversionFollowsTheAccount(t *testing.T) {
	f, ids := goldenFixture(t, false)
	id := ids["ivan"]
	conv := func() int { return f.ops.summarize(testNow).converted }
	before := conv()
	a, err := f.db.Account(id)
	if err != nil {
		t.Fatal(err)
	}
	paid := a.TrialEnd.Add(time.Hour)
	for _, step := range []struct {
		what string
		edit func(*store.Account)
	}{
		{"ivan paid", func(a *store.Account) {
			a.State, a.SubscriptionStatus, a.LastPaidAt, a.ConvertedAt = store.StateActive, "active", paid, paid
		}},
		{"ivan canceled", func(a *store.Account) { a.Plan, a.State, a.SubscriptionStatus = "free", store.StateFree, "canceled" }},
	} {
		f.edit(t, id, step.edit)
		if err := f.ops.refresh(map[string]struct{}{id: {}}); err != nil {
			t.Fatal(err)
		}
		if got := conv(); got != before+1 {
			t.Errorf("converted %d after %s, want %d", got, step.what, before+1)
		}
	}
}

func TestSummaryCounts(t *testing.T) {
	f, ids := goldenFixture(t, false)
	s := f.ops.summarize(testNow)
	if s.accounts != 10 || len(s.ending) != 1 || s.ending[0].email != "alice@example.com" {
		t.Fatalf("accounts %d, ending %+v", s.accounts, s.ending)
	}
	// Trials: alice, heidi, ivan (running), bob, carol, frank, grace, judy.
	// Paid since: bob (active), grace (canceling), judy (paid, then
	// canceled); not carol (past due, never paid), frank (paused), nor
	// alice, whose trial's $0 invoice is paid.
	if s.trialed != 8 || s.inTrial != 3 || s.converted != 3 {
		t.Errorf("conversion %d of %d (%d in trial), want 3 of 8 (3)", s.converted, s.trialed, s.inTrial)
	}
	for who, want := range map[string]bool{"bob": true, "grace": true, "judy": true, "carol": false, "frank": false, "alice": false, "dave": false} {
		if r, ok := f.ops.idx.get(ids[who]); !ok || r.converted != want {
			t.Errorf("%s: paid since the trial = %v, want %v", who, !want, want)
		}
	}
	// MRR: bob (s, active) + grace (xxl, canceling); carol (xl) is past due.
	cat := billing.DefaultCatalog()
	s9, _ := cat.Plan("s")
	xxl, _ := cat.Plan("xxl")
	xl, _ := cat.Plan("xl")
	if s.mrr["usd"] != s9.Amount+xxl.Amount || s.paying != 2 || s.atRisk["usd"] != xl.Amount || s.pastDue != 1 {
		t.Errorf("mrr %v paying %d at risk %v past due %d", s.mrr, s.paying, s.atRisk, s.pastDue)
	}
}
