package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCommitGroupFailure: when one caller of a group fails, only that caller
// sees its error and nothing it wrote; the callers before it run again and
// every other caller's writes commit. A panic goes back to its caller as
// panicked, not to the committer.
func TestCommitGroupFailure(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	bucket := []byte("t")
	if err := db.bolt.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	runs := make([]int, 5)
	group := make([]commitCall, 5)
	for i := range group {
		group[i] = commitCall{err: make(chan error, 1), fn: func(tx *bolt.Tx) error {
			runs[i]++
			if err := tx.Bucket(bucket).Put([]byte(fmt.Sprint(i)), []byte("x")); err != nil {
				return err
			}
			switch i {
			case 2:
				return boom
			case 3:
				panic("in three")
			}
			return nil
		}}
	}
	commitGroup(db.bolt, group)
	for i, want := range []error{nil, nil, boom, nil, nil} {
		err := <-group[i].err
		if i == 3 {
			if p, ok := err.(panicked); !ok || p.reason != "in three" {
				t.Errorf("call 3: %v, want its panic", err)
			}
			continue
		}
		if err != want {
			t.Errorf("call %d: %v, want %v", i, err, want)
		}
	}
	// 0 and 1 ran before the failure of 2, again before the panic of 3, and
	// once more in the commit; 2, 3 and 4 ran once.
	if want := []int{3, 3, 1, 1, 1}; fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("runs %v, want %v", runs, want)
	}
	var got []string
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error { got = append(got, string(k)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 4]" {
		t.Errorf("committed %v, want [0 1 4]", got)
	}
}

// TestUpdateGroupCommit runs many concurrent Updates on a store with fsync
// on (the group-commit path), a third of them failing after their write:
// every successful one is applied once with its own feed entry, no failed
// one leaves anything, a panic reaches its caller, and Update after Close is
// ErrUnavailable.
func TestUpdateGroupCommit(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	a := mustCreate(t, db, "ada@example.com", "k1")
	seq0, err := db.LastSeq(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	const workers, each = 16, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- db.Update(ctx, func(tx Tx) error {
					if _, err := tx.UpdateAccount(a.ID, func(x *Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
						return err
					}
					if (w+i)%3 == 0 {
						return boom
					}
					return nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	ok, failed := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, boom):
			failed++
		default:
			t.Errorf("Update: %v", err)
		}
	}
	got, err := db.Account(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := db.LastSeq(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if failed == 0 || got.NextInvoiceAmount != int64(ok) || got.Version != uint64(1+ok) || seq-seq0 != uint64(ok) {
		t.Errorf("%d ok, %d failed: amount %d, version %d, %d feed entries; want %d, %d, %d",
			ok, failed, got.NextInvoiceAmount, got.Version, seq-seq0, ok, 1+ok, ok)
	}
	func() {
		defer func() {
			if p := recover(); p != "in fn" {
				t.Errorf("recovered %v, want the fn's panic", p)
			}
		}()
		_ = db.Update(ctx, func(Tx) error { panic("in fn") })
	}()
	if err := db.Update(ctx, func(Tx) error { return nil }); err != nil {
		t.Errorf("Update after a panic: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(Tx) error { return nil }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Update after Close: %v, want ErrUnavailable", err)
	}
}
