package store

import (
	"fmt"
	"maps"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// scanCounts is what AccountCounts must equal: a full scan.
func scanCounts(tb testing.TB, db *DB) map[string]int {
	tb.Helper()
	m := map[string]int{}
	if err := db.ForEachAccount(func(a Account) bool {
		m[fmt.Sprintf("%s/%s/%s", a.State, a.Plan, a.SubscriptionStatus)]++
		return true
	}); err != nil {
		tb.Fatal(err)
	}
	return m
}

func keptCounts(tb testing.TB, db *DB) map[string]int {
	tb.Helper()
	cs, err := db.AccountCounts()
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string]int{}
	for _, c := range cs {
		m[fmt.Sprintf("%s/%s/%s", c.State, c.Plan, c.SubscriptionStatus)] = c.N
	}
	return m
}

func TestAccountCountsFollowEveryWrite(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 6 {
		ids = append(ids, mustCreate(t, db, fmt.Sprintf("u%d@example.com", i), fmt.Sprint(i)).ID)
	}
	trial := func(days int) func(*Account) error {
		return func(a *Account) error {
			a.Plan, a.State, a.SubscriptionStatus, a.TrialEnd = "s", StateTrial, "trialing", now.AddDate(0, 0, days)
			return nil
		}
	}
	steps := []struct {
		id string
		fn func(*Account) error
	}{
		{ids[0], func(a *Account) error { a.Plan, a.State = "free", StateFree; return nil }},
		{ids[1], trial(1)},
		{ids[2], trial(2)},
		{ids[3], trial(10)},
		{ids[2], func(a *Account) error { a.State, a.SubscriptionStatus = StateActive, "active"; return nil }},
		{ids[4], func(a *Account) error { a.Plan, a.State, a.SubscriptionStatus = "m", StateActive, "active"; return nil }},
		{ids[4], func(a *Account) error { a.State, a.SubscriptionStatus = StatePastDue, "past_due"; return nil }},
		{ids[1], func(a *Account) error { a.State = StateCanceling; return nil }}, // canceling its trial
		{ids[5], func(a *Account) error { a.Email = "renamed@example.com"; return nil }},
	}
	for i, st := range steps {
		if _, err := db.UpdateAccount(st.id, st.fn); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got, want := keptCounts(t, db), scanCounts(t, db); !maps.Equal(got, want) {
			t.Fatalf("after step %d counts = %v, a scan finds %v", i, got, want)
		}
	}
	// Via ApplyEvent too: it shares updateAccount.
	if _, _, err := db.ApplyEvent(Event{ID: "evt_1", Type: "x"}, ids[5], trial(3)); err != nil {
		t.Fatal(err)
	}
	if got, want := keptCounts(t, db), scanCounts(t, db); !maps.Equal(got, want) {
		t.Fatalf("after ApplyEvent counts = %v, a scan finds %v", got, want)
	}
	// Trials ending in the next 3 days: ids[1] (canceling, 1 day) and
	// ids[5] (3 days is the edge: excluded); ids[2] now active, ids[3] in 10.
	n, err := db.TrialsEndingBetween(now, now.AddDate(0, 0, 3))
	if err != nil || n != 1 {
		t.Fatalf("TrialsEndingBetween = %d, %v; want 1", n, err)
	}
	if n, _ := db.TrialsEndingBetween(now, now.AddDate(0, 0, 11)); n != 3 {
		t.Fatalf("TrialsEndingBetween 11 days = %d, want 3", n)
	}

	// A store written before the counts existed gets them from one scan.
	path := db.Path()
	want := scanCounts(t, db)
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketAccountCounts); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketTrialEnds)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if got := keptCounts(t, db2); !maps.Equal(got, want) {
		t.Fatalf("rebuilt counts = %v, want %v", got, want)
	}
	if n, _ := db2.TrialsEndingBetween(now, now.AddDate(0, 0, 11)); n != 3 {
		t.Fatalf("rebuilt trial index: %d in 11 days, want 3", n)
	}
}
