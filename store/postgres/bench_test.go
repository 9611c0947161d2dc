package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
)

// BenchmarkDurableIngest commits what one webhook writes (the event record,
// the account update, a notice, as billing's webhook handler calls them: one
// transaction, fsynced) from many
// goroutines over 256 accounts, on each engine in the same run, and on
// PostgreSQL also with each Update committing alone (the baseline of its
// group commit):
//
//	go test -run '^$' -bench DurableIngest -count 5 ./store/postgres/
//
// It measures the store alone: no HTTP, no signature, no Stripe fetch.
func BenchmarkDurableIngest(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"bbolt", func(b *testing.B) store.Store {
			db, err := store.Open(filepath.Join(b.TempDir(), "portal.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(b *testing.B) store.Store { return openTest(b) }},
		{"postgres-alone", func(b *testing.B) store.Store { return openWith(b, Options{NoGroupCommit: true}) }},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			db := e.open(b)
			ids := accounts(b, db, 256)
			var n atomic.Int64
			ingest := func(k int64) error {
				id := ids[k%int64(len(ids))]
				return db.Update(context.Background(), func(tx store.Tx) error {
					if dup, err := tx.RecordEvent(store.Event{ID: fmt.Sprint("evt_", k), Type: "invoice.payment_failed", AccountID: id}); err != nil || dup {
						return err
					}
					if _, err := tx.UpdateAccount(id, func(a *store.Account) error { a.State = store.StatePastDue; a.AmountDue++; return nil }); err != nil {
						return err
					}
					return tx.EnsureNotice(store.Notice{AccountID: id, Kind: "payment_failed", Key: fmt.Sprint(k), Message: "Payment failed."})
				})
			}
			// Warm up outside the timer, as many at once as the run below:
			// the pool's connections are open and its statements prepared,
			// so a short run measures the steady state, not the start.
			const parallelism = 16
			var warm sync.WaitGroup
			for range parallelism * runtime.GOMAXPROCS(0) {
				warm.Add(1)
				go func() {
					defer warm.Done()
					if err := ingest(n.Add(1)); err != nil {
						b.Error(err)
					}
				}()
			}
			warm.Wait()
			b.SetParallelism(parallelism)
			testkit.ParallelLatency(b, func() (time.Time, bool) {
				t0 := time.Now()
				if err := ingest(n.Add(1)); err != nil {
					b.Error(err)
					return t0, false
				}
				return t0, true
			})
		})
	}
}

// BenchmarkFeedCatchUp: 10,000 changes committed on instance A while
// instance B's all-accounts subscriber is away; B reconnects from the last
// seq it saw and reads every one, in order:
//
//	go test -run '^$' -bench FeedCatchUp -count 5 ./store/postgres/
func BenchmarkFeedCatchUp(b *testing.B) {
	a, other := openTwo(b)
	ctx := context.Background()
	acct, err := a.CreateAccount("ada@example.com", store.Key{Fingerprint: "SHA256:k"})
	if err != nil {
		b.Fatal(err)
	}
	const changes = 10000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		from, err := other.LastSeq(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		// 100 accounts' worth of writes, in transactions of 100 changes
		// each (one per account), so setup stays short.
		for range changes / 100 {
			err := a.Update(ctx, func(tx store.Tx) error {
				for j := range 100 {
					if _, err := tx.UpdateAccount(acct.ID, func(x *store.Account) error { x.AmountDue = int64(j); return nil }); err != nil {
						return err
					}
					tx.(*pgTx).markChanged(fmt.Sprint("acc_bench_", j))
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		sub := other.SubscribeFrom("", from)
		for got := 0; got < changes+0; {
			c, ok := <-sub.C()
			if !ok {
				b.Fatal("closed")
			}
			if c.Seq != from+uint64(got)+1 {
				b.Fatalf("change %d has seq %d, want %d", got, c.Seq, from+uint64(got)+1)
			}
			got++
		}
		b.StopTimer()
		sub.Close()
	}
	b.ReportMetric(float64(changes), "changes/op")
}
