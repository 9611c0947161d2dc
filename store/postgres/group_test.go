package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

// groupOf runs fns as one group, in order: a first caller holds the runner
// until every fn's caller is waiting, so the runner then takes them all at
// once. It
// returns each Update's error, and recovered panics as errors.
func groupOf(t *testing.T, db *DB, fns ...func(store.Tx) error) []error {
	t.Helper()
	if len(fns) >= maxGroup {
		t.Fatalf("%d callers do not fit one group", len(fns))
	}
	hold, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Update(context.Background(), func(store.Tx) error { close(held); <-hold; return nil })
	}()
	<-held
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			errs[i] = db.Update(context.Background(), fn)
		}()
		// One at a time: waiting senders are taken in the order they came.
		eventually(t, 10*time.Second, "caller waiting for the runner", func() bool {
			return db.groups.waiting.Load() == int32(i+1)
		})
	}
	close(hold)
	wg.Wait()
	return errs
}

// txOf identifies the transaction an Update's fn runs in.
func txOf(tx store.Tx) *lazyBegin { return tx.(*pgTx).tx.(*lazyBegin) }

func setAmount(id string, amount int64) func(store.Tx) error {
	return func(tx store.Tx) error {
		_, err := tx.UpdateAccount(id, func(a *store.Account) error { a.AmountDue = amount; return nil })
		return err
	}
}

func amountOf(t *testing.T, db *DB, id string) int64 {
	t.Helper()
	a, err := db.Account(id)
	if err != nil {
		t.Fatal(err)
	}
	return a.AmountDue
}

// accounts creates n accounts and returns their ids.
func accounts(t testing.TB, db store.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		a, err := db.CreateAccount(fmt.Sprintf("u%d@example.com", i), store.Key{Fingerprint: fmt.Sprint("SHA256:", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
	}
	return ids
}

// Callers waiting together commit in one transaction, each with its own
// feed entry, as if each had committed alone.
func TestGroupCommitsTogether(t *testing.T) {
	db := openTest(t)
	ids := accounts(t, db, 8)
	from, err := db.LastSeq(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	txs := map[*lazyBegin]int{}
	fns := make([]func(store.Tx) error, len(ids))
	for i, id := range ids {
		fns[i] = func(tx store.Tx) error {
			mu.Lock()
			txs[txOf(tx)]++
			mu.Unlock()
			return setAmount(id, int64(100+i))(tx)
		}
	}
	for i, err := range groupOf(t, db, fns...) {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if len(txs) != 1 {
		t.Errorf("8 waiting callers ran in %d transactions, want 1", len(txs))
	}
	for i, id := range ids {
		if got := amountOf(t, db, id); got != int64(100+i) {
			t.Errorf("account %d: amount %d, want %d", i, got, 100+i)
		}
	}
	ch, err := db.Changes(context.Background(), from, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != len(ids) {
		t.Errorf("feed has %d entries for %d updates", len(ch), len(ids))
	}
}

// A caller whose function fails before any of its writes reached the server
// gets its error, its queued writes are dropped, and the group goes on in the
// same transaction.
func TestGroupCallerFailingBeforeAWriteLeavesTheGroup(t *testing.T) {
	db := openTest(t)
	ids := accounts(t, db, 3)
	boom := errors.New("boom")
	var mu sync.Mutex
	txs := map[*lazyBegin]bool{}
	runs := make([]atomic.Int32, 3)
	fn := func(i int, fail bool) func(store.Tx) error {
		return func(tx store.Tx) error {
			runs[i].Add(1)
			mu.Lock()
			txs[txOf(tx)] = true
			mu.Unlock()
			if err := setAmount(ids[i], 7)(tx); err != nil { // queued, not sent
				return err
			}
			if _, err := tx.AppendAudit(store.AuditEntry{AccountID: ids[i], Action: "test"}); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		}
	}
	errs := groupOf(t, db, fn(0, false), fn(1, true), fn(2, false))
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], boom) {
		t.Fatalf("errors %v, want nil, boom, nil", errs)
	}
	for i, want := range []int64{7, 0, 7} {
		if got := amountOf(t, db, ids[i]); got != want {
			t.Errorf("account %d: amount %d, want %d", i, got, want)
		}
	}
	if entries, err := db.Audit(ids[1], 0); err != nil || len(entries) != 0 {
		t.Errorf("failed caller's audit: %d entries, %v", len(entries), err)
	}
	if len(txs) != 1 || runs[0].Load() != 1 || runs[2].Load() != 1 {
		t.Errorf("%d transactions, runs %d, %d: want one transaction, each run once", len(txs), runs[0].Load(), runs[2].Load())
	}
}

// A caller whose function fails after a write reached the server, or whose
// statement the server refuses, or that panics, gets its own outcome; the
// group rolls back and the other callers run again and commit.
func TestGroupCallerFailingAfterAWriteRunsTheOthersAgain(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		fail func(tx store.Tx, id string) error
		want func(error) bool
	}{
		{"error after a sent write", func(tx store.Tx, id string) error {
			if _, err := tx.RecordEvent(store.Event{ID: "evt_failed", Type: "x"}); err != nil {
				return err
			}
			return boom
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"statement refused", func(tx store.Tx, id string) error {
			_, err := tx.(*pgTx).exec("INSERT INTO audit (account_id, data) VALUES ($1, 'not json')", id)
			return err
		}, func(err error) bool { return errors.Is(err, store.ErrUnavailable) }},
		{"panic after a sent write", func(tx store.Tx, id string) error {
			if _, err := tx.RecordEvent(store.Event{ID: "evt_failed", Type: "x"}); err != nil {
				return err
			}
			panic("boom")
		}, func(err error) bool { return err != nil && err.Error() == "panic: boom" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			ids := accounts(t, db, 3)
			runs := make([]atomic.Int32, 3)
			fn := func(i int) func(store.Tx) error {
				return func(tx store.Tx) error {
					runs[i].Add(1)
					if i == 1 { // its first statement: no write of its own queued before
						return tc.fail(tx, ids[i])
					}
					return setAmount(ids[i], 9)(tx)
				}
			}
			errs := groupOf(t, db, fn(0), fn(1), fn(2))
			if errs[0] != nil || errs[2] != nil || !tc.want(errs[1]) {
				t.Fatalf("errors %v", errs)
			}
			for i, want := range []int64{9, 0, 9} {
				if got := amountOf(t, db, ids[i]); got != want {
					t.Errorf("account %d: amount %d, want %d", i, got, want)
				}
			}
			if _, err := db.Account(ids[0]); err != nil {
				t.Fatal(err)
			}
			if done, err := db.EventProcessed("evt_failed"); err != nil || done {
				t.Errorf("failed caller's event recorded: %v, %v", done, err)
			}
			if runs[0].Load() != 2 {
				t.Errorf("the caller before the failure ran %d times, want 2 (again after the rollback)", runs[0].Load())
			}
		})
	}
}

// A write queued by one caller that the server refuses (it goes with the
// next caller's statement) loses the transaction: every caller runs again
// alone, where the refusal is its own caller's only.
func TestGroupRefusedQueuedWriteRunsEveryoneAlone(t *testing.T) {
	db := openTest(t)
	ids := accounts(t, db, 3)
	fn := func(i int) func(store.Tx) error {
		return func(tx store.Tx) error {
			if err := setAmount(ids[i], 5)(tx); err != nil {
				return err
			}
			if i == 1 { // jsonb cannot hold a NUL character
				_, err := tx.AppendAudit(store.AuditEntry{AccountID: ids[i], Action: "test", After: "nul\x00"})
				return err
			}
			_, err := tx.Account(ids[i]) // a statement: sends what is queued
			return err
		}
	}
	errs := groupOf(t, db, fn(0), fn(1), fn(2))
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], store.ErrUnavailable) {
		t.Fatalf("errors %v, want nil, ErrUnavailable, nil", errs)
	}
	for i, want := range []int64{5, 0, 5} {
		if got := amountOf(t, db, ids[i]); got != want {
			t.Errorf("account %d: amount %d, want %d", i, got, want)
		}
	}
}

// A caller whose account's row is held by a group still committing gives up
// at once and runs again after that commit: no update is lost, and the
// feed numbers the account's two changes in commit order.
func TestGroupYieldsToACommitInFlight(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	ids := accounts(t, db, 2)
	x := ids[0]
	// Stall the commits that number x's feed entries: an outside session
	// holds the feed's lock of x (feed.go).
	outside, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Release()
	if _, err := outside.Exec(ctx, "SELECT pg_advisory_lock($1::int4, hashtext($2))", lockFeedAccount, x); err != nil {
		t.Fatal(err)
	}
	from, err := db.LastSeq(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		first <- db.Update(ctx, func(tx store.Tx) error {
			_, err := tx.UpdateAccount(x, func(a *store.Account) error { a.AmountDue += 1; return nil })
			return err
		})
	}()
	eventually(t, 10*time.Second, "the first group committing with x's row", func() bool { return db.groups.busy(x) != nil })
	second := make(chan error, 1)
	var runs, inGroup atomic.Int32
	go func() {
		second <- db.Update(ctx, func(tx store.Tx) error {
			runs.Add(1)
			if tx.(*pgTx).claim != nil {
				inGroup.Add(1)
			}
			_, err := tx.UpdateAccount(x, func(a *store.Account) error { a.AmountDue += 10; return nil })
			return err
		})
	}()
	eventually(t, 10*time.Second, "the second caller to yield", func() bool { return runs.Load() >= 1 })
	// Another account is not held up meanwhile.
	if err := db.Update(ctx, setAmount(ids[1], 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := outside.Exec(ctx, "SELECT pg_advisory_unlock($1::int4, hashtext($2))", lockFeedAccount, x); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got := amountOf(t, db, x); got != 11 {
		t.Errorf("amount %d after +1 and +10, want 11", got)
	}
	if runs.Load() != 2 || inGroup.Load() != 2 {
		t.Errorf("the second caller ran %d times, %d in a group; want 2 and 2 (it yielded once, not timed out to run alone)", runs.Load(), inGroup.Load())
	}
	if last, err := db.LastSeq(ctx, x); err != nil || last <= from {
		t.Errorf("x's last seq %d (was %d), %v", last, from, err)
	}
}

// busy reports the end of the group holding account id's row, or nil.
func (g *groups) busy(id string) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held[id]
}
