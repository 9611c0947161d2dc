package sshserver

import (
	"context"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
)

// probe is a program's model for the registry tests: it records the
// account versions it is handed and can be made busy (blocked in Update).
type probe struct {
	release  chan struct{}  // closing it ends a hold
	held     chan struct{}  // receives when a hold begins
	versions chan uint64    // every loadedMsg's version
	inFlight *atomic.Int32  // reloads started and not yet taken by Update
	err      chan error     // load failures
	shown    *atomic.Uint64 // newest version applied
	stale    *atomic.Int32  // reloads dropped as older than shown
	loaded   *atomic.Int32  // reloads taken
}

type holdMsg struct{}

// loadedMsg is the probe's reload, as the customer model's account-loaded
// message is the real one's: the registry hands on whatever load returns.
type loadedMsg struct {
	Account store.Account
	Err     error
}

func (p probe) Init() tea.Cmd { return nil }

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case holdMsg:
		p.held <- struct{}{}
		<-p.release
	case loadedMsg:
		p.inFlight.Add(-1)
		p.loaded.Add(1)
		if msg.Err != nil {
			p.err <- msg.Err
			return p, nil
		}
		if msg.Account.Version < p.shown.Load() {
			p.stale.Add(1)
			return p, nil
		}
		p.shown.Store(msg.Account.Version)
		p.versions <- msg.Account.Version
	}
	return p, nil
}

func (p probe) View() string { return "" }

// runProbe runs a probe program, whose versions channel holds up to buf
// reloads, until the test ends.
func runProbe(t testing.TB, buf int) (probe, *tea.Program) {
	t.Helper()
	m := probe{
		release: make(chan struct{}), held: make(chan struct{}, 1), versions: make(chan uint64, buf),
		inFlight: new(atomic.Int32), err: make(chan error, 10), shown: new(atomic.Uint64),
		stale: new(atomic.Int32), loaded: new(atomic.Int32),
	}
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutRenderer(), tea.WithoutSignalHandler())
	done := make(chan struct{})
	go func() { defer close(done); _, _ = p.Run() }()
	t.Cleanup(func() { p.Quit(); <-done })
	return m, p
}

func openStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSessionLoopBurstWhileBusy: 100 commits to one account while its
// session's program is busy lead to at most one reload in flight at any
// moment, a handful of reloads rather than 100, and end on the newest
// state; another account's commits wake nothing.
func TestSessionLoopBurstWhileBusy(t *testing.T) {
	db := openStore(t)
	a, err := db.CreateAccount("ada@example.com", store.Key{Fingerprint: "SHA256:ada"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateAccount("bob@example.com", store.Key{Fingerprint: "SHA256:bob"})
	if err != nil {
		t.Fatal(err)
	}
	var maxInFlight atomic.Int32
	m, p := runProbe(t, 1000)

	reg := NewRegistry(db)
	load := func() tea.Msg {
		if n := m.inFlight.Add(1); n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		acct, err := db.Account(a.ID)
		return loadedMsg{Account: acct, Err: err}
	}
	s := reg.add(p, load)
	t.Cleanup(func() { reg.remove(s) })
	seq, err := db.LastSeq(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	reg.bind(s, a.ID, seq)

	p.Send(holdMsg{})
	<-m.held // the program is busy from here until release
	var last store.Account
	for i := range 100 {
		if last, err = db.UpdateAccount(a.ID, func(x *store.Account) error { x.NextInvoiceAmount = int64(i); return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateAccount(other.ID, func(x *store.Account) error { x.NextInvoiceAmount = int64(i); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	close(m.release)

	deadline := time.After(20 * time.Second) // a hang guard, not a timing assertion
	for m.shown.Load() != last.Version {
		select {
		case <-m.versions:
		case err := <-m.err:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("screen stuck at version %d, want %d", m.shown.Load(), last.Version)
		}
	}
	if n := maxInFlight.Load(); n != 1 {
		t.Errorf("%d reloads in flight at once, want at most 1", n)
	}
	// One reload may have started before the burst ended and waited for the
	// program; then one for the rest. Never one per commit.
	if n := m.loaded.Load(); n > 3 {
		t.Errorf("%d reloads for a burst of 100 commits while busy, want at most 3", n)
	}
	if n := m.stale.Load(); n != 0 {
		t.Errorf("the session loop delivered %d reloads out of order", n)
	}
}

// WakeAll re-reads bound sessions without a commit (the billing clock moved).
func TestWakeAllReloadsBoundSessions(t *testing.T) {
	db := openStore(t)
	a, err := db.CreateAccount("ada@example.com", store.Key{Fingerprint: "SHA256:ada"})
	if err != nil {
		t.Fatal(err)
	}
	m, p := runProbe(t, 100)
	reg := NewRegistry(db)
	s := reg.add(p, func() tea.Msg {
		m.inFlight.Add(1)
		acct, err := db.Account(a.ID)
		return loadedMsg{Account: acct, Err: err}
	})
	t.Cleanup(func() { reg.remove(s) })
	seq, _ := db.LastSeq(context.Background(), "")
	reg.bind(s, a.ID, seq)
	reg.WakeAll()
	select {
	case v := <-m.versions:
		if v != a.Version {
			t.Errorf("woken reload shows version %d, want %d", v, a.Version)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WakeAll reloaded nothing")
	}
	if reg.Len() != 1 {
		t.Errorf("Len = %d", reg.Len())
	}
	reg.remove(s)
	if reg.Len() != 0 {
		t.Errorf("Len after remove = %d", reg.Len())
	}
}
