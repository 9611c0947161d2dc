package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// recv waits for one Change; the long timeout only turns a hang into a failure.
func recv(tb testing.TB, s *Subscription) Change {
	tb.Helper()
	select {
	case c, ok := <-s.C():
		if !ok {
			tb.Fatal("subscription closed")
		}
		return c
	case <-time.After(10 * time.Second):
		tb.Fatal("no change delivered")
	}
	return Change{}
}

func assertNone(tb testing.TB, s *Subscription) {
	tb.Helper()
	select {
	case c := <-s.C():
		tb.Fatalf("unexpected change %+v", c)
	default:
	}
}

func TestFeedDeliversAfterCommitOnly(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	a := mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")
	subA := db.Subscribe(a.ID)
	defer subA.Close()

	// Inside fn the commit has not happened: nothing may be pending yet.
	_, err := db.UpdateAccount(a.ID, func(x *Account) error {
		assertNone(t, subA)
		x.Plan = "s"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := recv(t, subA); c.AccountID != a.ID || c.Seq == 0 {
		t.Errorf("got %+v", c)
	}
	if got, _ := db.Account(a.ID); got.Plan != "s" {
		t.Error("change delivered but the update is not visible")
	}

	_, err = db.UpdateAccount(a.ID, func(*Account) error { return errors.New("abort") })
	if err == nil {
		t.Fatal("fn error ignored")
	}
	if _, err := db.UpdateAccount(b.ID, func(x *Account) error { x.Plan = "m"; return nil }); err != nil {
		t.Fatal(err)
	}
	assertNone(t, subA) // neither the rolled-back update nor another account's

	// Several commits coalesce into one pending change.
	for range 3 {
		if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.Plan = "xl"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	recv(t, subA)
	assertNone(t, subA)
}

func TestFeedAllAccounts(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	all := db.Subscribe("")
	defer all.Close()
	a := mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")
	if c := recv(t, all); c.AccountID != a.ID {
		t.Errorf("first change %+v, want %s", c, a.ID)
	}
	if c := recv(t, all); c.AccountID != b.ID {
		t.Errorf("second change %+v, want %s", c, b.ID)
	}
}

// A slow all-accounts subscriber misses nothing: it reads every change, in
// order, from the durable feed whenever it gets to it.
func TestAllSubscriberFallsBehindLosesNothing(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	all := db.Subscribe("")
	defer all.Close()
	var ids []string
	for i := range 600 { // more than a pump's batch, so it reads several
		ids = append(ids, mustCreate(t, db, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("k", i)).ID)
	}
	var last uint64
	for i, id := range ids {
		c := recv(t, all)
		if c.AccountID != id || c.Seq <= last || c.Resync {
			t.Fatalf("change %d = %+v, want account %s after seq %d", i, c, id, last)
		}
		last = c.Seq
	}
}

func TestSubscriptionClose(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	a := mustCreate(t, db, "ada@example.com", "k1")
	one, all := db.Subscribe(a.ID), db.Subscribe("")
	one.Close()
	one.Close() // idempotent
	if _, ok := <-one.C(); ok {
		t.Error("C open after Close")
	}
	if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.Plan = "s"; return nil }); err != nil {
		t.Fatalf("write after a subscription closed: %v", err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for c := range all.C() { // drains at most the pending change, then ends
		_ = c
	}
	all.Close() // idempotent after DB.Close
	if _, ok := <-db.Subscribe(a.ID).C(); ok {
		t.Error("Subscribe after DB.Close returned an open channel")
	}
}

// A subscriber that reads as soon as it is told sees the committed value:
// the notification follows the commit, not merely fn. Durable commits (fsync)
// make the window a wrong order would open wide enough to see.
func TestFeedReaderSeesCommittedValue(t *testing.T) {
	db := openTest(t, Options{})
	a := mustCreate(t, db, "ada@example.com", "k1")
	sub := db.Subscribe(a.ID)
	defer sub.Close()
	seen := make(chan string, 1)
	go func() {
		if _, ok := <-sub.C(); ok {
			got, _ := db.Account(a.ID)
			seen <- got.Plan
		}
	}()
	if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.Plan = "m"; return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case plan := <-seen:
		if plan != "m" {
			t.Fatalf("subscriber read plan %q on notification, want the committed %q", plan, "m")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
}

// A subscriber that names the last Seq it saw before the process stopped
// gets, after a restart, every change it missed, then live ones.
func TestFeedCatchUpAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db := openAt(t, path, Options{NoSync: true})
	a := mustCreate(t, db, "ada@example.com", "k1")
	all := db.Subscribe("")
	if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.Plan = "s"; return nil }); err != nil {
		t.Fatal(err)
	}
	seen := recv(t, all).Seq
	for range 3 { // committed, never delivered: the process stops
		if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	db = reopen(t, db, path, Options{NoSync: true})
	again := db.SubscribeFrom("", seen)
	defer again.Close()
	for i := range 3 {
		if c := recv(t, again); c.Seq != seen+uint64(i)+1 || c.AccountID != a.ID {
			t.Fatalf("catch-up %d after restart = %+v", i, c)
		}
	}
	one := db.SubscribeFrom(a.ID, seen)
	defer one.Close()
	if c := recv(t, one); c.Seq != seen+3 {
		t.Errorf("account catch-up after restart = %+v, want seq %d", c, seen+3)
	}
	b := mustCreate(t, db, "bob@example.com", "k2")
	if c := recv(t, again); c.AccountID != b.ID || c.Seq != seen+4 {
		t.Errorf("live after catch-up = %+v", c)
	}
}
