package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/portal/portal/store/postgres/pgtest"
	"github.com/portal/portal/store/storetest"
)

func openTest(t testing.TB) *DB {
	t.Helper()
	return openWith(t, Options{})
}

func openWith(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.NewDatabase(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The store's contract suite, as bbolt runs it; also with each Update
// committing alone, the path a caller of a failed group takes.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return openTest(t) })
}

func TestContractNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return openWith(t, Options{NoGroupCommit: true}) })
}

// openTwo opens two instances on one fresh database.
func openTwo(t testing.TB) (*DB, *DB) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(context.Background(), url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}

// Two instances (two pools) updating one account at once lose no update,
// and the feed numbers them without a gap.
func TestTwoInstancesUpdateOneAccount(t *testing.T) {
	a, b := openTwo(t)
	acct, err := a.CreateAccount("ada@example.com", store.Key{Fingerprint: "SHA256:k1"})
	if err != nil {
		t.Fatal(err)
	}
	const each = 100
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b} {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each / 4 {
					err := db.Update(context.Background(), func(tx store.Tx) error {
						if _, err := tx.RecordEvent(store.Event{ID: fmt.Sprintf("evt_%p_%d_%d", db, i, time.Now().UnixNano()), AccountID: acct.ID}); err != nil {
							return err
						}
						_, err := tx.UpdateAccount(acct.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil })
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, db := range []*DB{a, b} {
		got, err := db.Account(acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.NextInvoiceAmount != 2*each || got.Version != 1+2*each {
			t.Fatalf("after %d updates from two instances: amount %d, version %d", 2*each, got.NextInvoiceAmount, got.Version)
		}
	}
	ch, err := b.Changes(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1+2*each {
		t.Fatalf("feed has %d entries, want %d", len(ch), 1+2*each)
	}
	for i, c := range ch {
		if c.Seq != uint64(i+1) {
			t.Fatalf("feed entry %d has seq %d: a gap", i, c.Seq)
		}
	}
}

// A change committed on instance A reaches subscribers on instance B, also
// when B's listening connection is killed (pg_terminate_backend) and the
// changes commit while it is down: B reads them on reconnect.
func TestOtherInstanceCatchesUpAfterListenerKilled(t *testing.T) {
	a, b := openTwo(t)
	ctx := context.Background()
	acct, err := a.CreateAccount("ada@example.com", store.Key{Fingerprint: "SHA256:k1"})
	if err != nil {
		t.Fatal(err)
	}
	from, err := b.LastSeq(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	one := b.Subscribe(acct.ID)
	defer one.Close()
	all := b.SubscribeFrom("", from)
	defer all.Close()

	// Live: a change on A wakes B's subscription.
	if _, err := a.UpdateAccount(acct.ID, func(x *store.Account) error { x.Plan = "s"; return nil }); err != nil {
		t.Fatal(err)
	}
	if c := storetest.Recv(t, one); c.AccountID != acct.ID {
		t.Fatalf("B's account subscription got %+v", c)
	}
	if c := storetest.Recv(t, all); c.Seq != from+1 {
		t.Fatalf("B's all-accounts subscription got %+v, want seq %d", c, from+1)
	}

	// Kill B's listener, write on A while it is down (as far as the race
	// allows), and check everything arrives, in order.
	eventually(t, 10*time.Second, "B listening", func() bool { return b.FeedPID() != 0 })
	if _, err := a.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", b.FeedPID()); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for range n {
		if _, err := a.UpdateAccount(acct.ID, func(x *store.Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		c := storetest.Recv(t, all)
		if c.Seq != from+2+uint64(i) || c.AccountID != acct.ID {
			t.Fatalf("after the kill, change %d = %+v, want seq %d", i, c, from+2+uint64(i))
		}
	}
	last, err := a.LastSeq(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "B's account subscription reaches the newest change", func() bool {
		select {
		case c := <-one.C():
			return c.Seq == last
		default:
			return false
		}
	})
}
