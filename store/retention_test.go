package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// seedEvents is the fast path for big histories: n final event records
// received from `from` one second apart, spread over accounts, written
// straight into the buckets in large transactions.
func seedEvents(tb testing.TB, db *DB, n int, from time.Time, accounts []string) {
	tb.Helper()
	const perTx = 50_000
	for done := 0; done < n; {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i := 0; i < perTx && done < n; i, done = i+1, done+1 {
				ev := Event{ID: fmt.Sprintf("evt_seed%08d", done), Type: "invoice.paid",
					Created: from.Add(time.Duration(done) * time.Second), ReceivedAt: from.Add(time.Duration(done) * time.Second),
					Status: EventStatusProcessed}
				if len(accounts) > 0 {
					ev.AccountID = accounts[done%len(accounts)]
				}
				if err := putEvent(tx, ev, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func TestPruneRemovesOnlyOldHistory(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := now.AddDate(0, 0, -200)
	db := openTest(t, Options{NoSync: true, Now: func() time.Time { return clock }})
	a := mustCreate(t, db, "old@example.com", "k1")
	cutoff := now.AddDate(0, 0, -90)

	// Old history: 7 final events and a failed one, 5 audit entries, 4
	// mailed notices and one never mailed.
	seedEvents(t, db, 7, cutoff.Add(-time.Hour*24), []string{a.ID})
	if err := db.RecordEvent(Event{ID: "evt_failed_old", Type: "x", Status: EventStatusFailed, ReceivedAt: cutoff.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.AppendAudit(AuditEntry{Action: "old", AccountID: a.ID, At: cutoff.Add(-time.Duration(10-i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var oldNotices []Notice
	for i := range 5 {
		n, _, err := db.AddNotice(Notice{AccountID: a.ID, Kind: "k", Key: fmt.Sprint(i), Message: "m", CreatedAt: cutoff.Add(-48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		oldNotices = append(oldNotices, n)
	}
	for _, n := range oldNotices[:4] {
		if err := db.MarkMailed(n.ID, cutoff.Add(-24*time.Hour), nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	// New history that stays.
	clock = now
	if _, _, err := db.ApplyEvent(Event{ID: "evt_new", Type: "x"}, a.ID, func(*Account) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendAudit(AuditEntry{Action: "new", AccountID: a.ID}); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := db.AddNotice(Notice{AccountID: a.ID, Kind: "k", Key: "new", Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailed(fresh.ID, now, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}

	// Batches of 2 force several transactions per kind.
	got, err := db.Prune(context.Background(), cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := (PruneResult{Events: 7, Audit: 5, Notices: 4}); got != want {
		t.Fatalf("Prune = %+v, want %+v", got, want)
	}
	evs, _ := db.Events(0)
	if len(evs) != 2 {
		t.Errorf("events left: %+v; want the failed old one and the new one", evs)
	}
	if evs, _ := db.EventsForAccount(a.ID, 0); len(evs) != 1 || evs[0].ID != "evt_new" {
		t.Errorf("account's events left: %+v", evs)
	}
	if au, _ := db.Audit(a.ID, 0); len(au) != 1 || au[0].Action != "new" {
		t.Errorf("audit left: %+v", au)
	}
	ns, _ := db.Notices(a.ID)
	if len(ns) != 2 {
		t.Errorf("notices left: %+v; want the unmailed old one and the new one", ns)
	}
	if out, _ := db.Outbox(); len(out) != 1 || out[0].ID != oldNotices[4].ID {
		t.Errorf("outbox: %+v, want the unmailed notice", out)
	}
	if err := db.Verify(); err != nil {
		t.Fatalf("store after pruning: %v", err)
	}
	// A second run finds nothing; a cancelled one stops.
	if got, err := db.Prune(context.Background(), cutoff, 2); err != nil || got != (PruneResult{}) {
		t.Errorf("second Prune = %+v, %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Prune(ctx, now, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Prune: %v", err)
	}
}

// BenchmarkAtMillionEvents measures the webhook path (look-up, apply,
// commit) and the ops view's reload queries (every account, then each trial
// account's own events) on an empty store and on one holding 1,000,000
// event records, before and after pruning them as older than the retention.
// Compare ns/op across the sub-benchmarks of one run:
//
//	go test ./store -run '^$' -bench AtMillionEvents -benchtime 200x -count 5
func BenchmarkAtMillionEvents(b *testing.B) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	setup := func(b *testing.B, events int, prune bool) *DB {
		db := openTest(b, Options{NoSync: true, Now: func() time.Time { return now }})
		var ids []string
		for i := range 1000 {
			a := mustCreate(b, db, fmt.Sprintf("u%d@example.com", i), fmt.Sprint(i))
			if i%10 == 0 {
				if _, err := db.UpdateAccount(a.ID, func(a *Account) error { a.TrialUsed = true; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			ids = append(ids, a.ID)
		}
		// Received 100 to ~112 days ago: past a 90-day retention.
		seedEvents(b, db, events, now.AddDate(0, 0, -112), ids)
		if prune {
			if _, err := db.Prune(context.Background(), now.AddDate(0, 0, -90), 0); err != nil {
				b.Fatal(err)
			}
		}
		return db
	}
	reload := func(db *DB) error {
		var accts []Account
		if err := db.ForEachAccount(func(a Account) bool { accts = append(accts, a); return true }); err != nil {
			return err
		}
		return db.View(context.Background(), func(rt ReadTx) error {
			for _, a := range accts {
				if a.TrialUsed {
					if _, err := rt.Events(a.ID, 0); err != nil {
						return err
					}
				}
			}
			_, err := rt.Events("", 200) // the webhook log's window
			return err
		})
	}
	for _, c := range []struct {
		name   string
		events int
		prune  bool
	}{{"empty", 0, false}, {"1M-pruned", 1_000_000, true}, {"1M-kept", 1_000_000, false}} {
		b.Run(c.name, func(b *testing.B) {
			// A group with sub-benchmarks runs once: the set-up too.
			db := setup(b, c.events, c.prune)
			acct, err := db.AccountByEmail("u1@example.com")
			if err != nil {
				b.Fatal(err)
			}
			seq := 0
			b.Run("webhook", func(b *testing.B) {
				for range b.N {
					seq++
					id := fmt.Sprintf("evt_bench_%d", seq)
					if _, err := db.EventProcessed(id); err != nil {
						b.Fatal(err)
					}
					if _, _, err := db.ApplyEvent(Event{ID: id, Type: "customer.subscription.updated"}, acct.ID, func(a *Account) error { a.Plan = "s"; return nil }); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("opsreload", func(b *testing.B) {
				for range b.N {
					if err := reload(db); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
