package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepClock returns a clock that advances one second per call, so ReceivedAt
// orders events deterministically.
func stepClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func TestApplyEventIdempotent(t *testing.T) {
	db := openTest(t, Options{NoSync: true, Now: stepClock()})
	a := mustCreate(t, db, "ada@example.com", "k1")
	sub := db.Subscribe(a.ID)
	defer sub.Close()
	assertNone(t, sub)

	ev := Event{ID: "evt_1", Type: "customer.subscription.updated"}
	bump := func(x *Account) error { x.NextInvoiceAmount++; return nil }
	acct, dup, err := db.ApplyEvent(ev, a.ID, bump)
	if err != nil || dup || acct.NextInvoiceAmount != 1 || acct.Version != 2 {
		t.Fatalf("first ApplyEvent = %+v, %v, %v", acct, dup, err)
	}
	recv(t, sub)
	for range 3 {
		if _, dup, err := db.ApplyEvent(ev, a.ID, bump); err != nil || !dup {
			t.Fatalf("redelivery: dup=%v err=%v, want dup", dup, err)
		}
	}
	assertNone(t, sub)
	if got, _ := db.Account(a.ID); got.NextInvoiceAmount != 1 {
		t.Errorf("duplicates changed the account: amount %d", got.NextInvoiceAmount)
	}
	if ok, err := db.EventProcessed("evt_1"); !ok || err != nil {
		t.Errorf("EventProcessed = %v, %v", ok, err)
	}
	if ok, err := db.EventProcessed("evt_nope"); ok || err != nil {
		t.Errorf("EventProcessed(unknown) = %v, %v", ok, err)
	}
	evs, err := db.Events(0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events = %+v, %v", evs, err)
	}
	if e := evs[0]; e.Duplicates != 3 || e.Status != EventStatusProcessed || e.AccountID != a.ID || e.ReceivedAt.IsZero() {
		t.Errorf("stored event = %+v", e)
	}
}

func TestApplyEventFnErrorRecordsNothing(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	a := mustCreate(t, db, "ada@example.com", "k1")
	boom := errors.New("boom")
	if _, _, err := db.ApplyEvent(Event{ID: "evt_1"}, a.ID, func(*Account) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if ok, _ := db.EventProcessed("evt_1"); ok {
		t.Error("event recorded although fn failed")
	}
	if _, _, err := db.ApplyEvent(Event{ID: "evt_2"}, "acc_nope", func(*Account) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing account: err = %v, want ErrNotFound", err)
	}
	// A retry after the failure is processed normally.
	if _, dup, err := db.ApplyEvent(Event{ID: "evt_1"}, a.ID, func(x *Account) error { x.Plan = "s"; return nil }); err != nil || dup {
		t.Errorf("retry: dup=%v err=%v", dup, err)
	}
}

func TestRecordEvent(t *testing.T) {
	db := openTest(t, Options{NoSync: true, Now: stepClock()})
	if err := db.RecordEvent(Event{ID: "evt_f", Status: EventStatusFailed, Error: "stripe down"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.EventProcessed("evt_f"); ok {
		t.Error("a failed event counts as processed")
	}
	// The failed event is retried and now succeeds: the record is replaced, not duplicated.
	if _, dup, err := db.ApplyEvent(Event{ID: "evt_f"}, "", nil); err != nil || dup {
		t.Fatalf("ApplyEvent after failure: dup=%v err=%v", dup, err)
	}
	if err := db.RecordEvent(Event{ID: "evt_i", Type: "product.created"}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordEvent(Event{ID: "evt_i", Type: "product.created"}); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ID != "evt_i" || evs[1].ID != "evt_f" {
		t.Fatalf("Events = %+v, want evt_i then evt_f", evs)
	}
	if evs[0].Status != EventStatusIgnored || evs[0].Duplicates != 1 || evs[1].Status != EventStatusProcessed || evs[1].Error != "" {
		t.Errorf("Events = %+v", evs)
	}
}

func TestEventsNewestFirstAndPerAccount(t *testing.T) {
	db := openTest(t, Options{NoSync: true, Now: stepClock()})
	a := mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")
	for i := range 6 {
		acc := a.ID
		if i%2 == 1 {
			acc = b.ID
		}
		if _, _, err := db.ApplyEvent(Event{ID: fmt.Sprint("evt_", i)}, acc, nil); err != nil {
			t.Fatal(err)
		}
	}
	ids := joinBy(t, func(e Event) string { return e.ID })
	if got := ids(db.Events(3)); got != "evt_5 evt_4 evt_3 " {
		t.Errorf("Events(3) = %s", got)
	}
	if got := ids(db.EventsForAccount(a.ID, 0)); got != "evt_4 evt_2 evt_0 " {
		t.Errorf("EventsForAccount(a) = %s", got)
	}
	if got := ids(db.EventsForAccount(b.ID, 2)); got != "evt_5 evt_3 " {
		t.Errorf("EventsForAccount(b, 2) = %s", got)
	}
}

func TestApplyEventConcurrent(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	a := mustCreate(t, db, "ada@example.com", "k1")
	const workers, events = 16, 50
	var applied, dups atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range events {
				// Every worker delivers every event: each is applied once.
				id := fmt.Sprint("evt_", (i+w)%events)
				_, dup, err := db.ApplyEvent(Event{ID: id}, a.ID, func(x *Account) error { x.NextInvoiceAmount++; return nil })
				if err != nil {
					t.Error(err)
					return
				}
				if dup {
					dups.Add(1)
				} else {
					applied.Add(1)
				}
			}
		})
	}
	wg.Wait()
	got, err := db.Account(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Load() != events || dups.Load() != (workers-1)*events || got.NextInvoiceAmount != events || got.Version != 1+events {
		t.Errorf("applied %d dups %d amount %d version %d; want %d, %d, %d, %d",
			applied.Load(), dups.Load(), got.NextInvoiceAmount, got.Version, events, (workers-1)*events, events, 1+events)
	}
	evs, err := db.Events(0)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range evs {
		total += e.Duplicates
	}
	if len(evs) != events || total != (workers-1)*events {
		t.Errorf("%d events with %d duplicates; want %d, %d", len(evs), total, events, (workers-1)*events)
	}
}

// BenchmarkApplyEvent measures durable (fsynced) group-committed event
// processing under many concurrent webhook handlers, each event updating one
// of 100 accounts.
func BenchmarkApplyEvent(b *testing.B) {
	db := openTest(b, Options{})
	var accts []string
	for i := range 100 {
		accts = append(accts, mustCreate(b, db, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("k", i)).ID)
	}
	var n atomic.Int64
	b.SetParallelism(64) // 64 goroutines per GOMAXPROCS, like concurrent webhook deliveries
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			ev := Event{ID: fmt.Sprint("evt_", i), Type: "customer.subscription.updated"}
			_, _, err := db.ApplyEvent(ev, accts[i%int64(len(accts))], func(x *Account) error {
				x.SubscriptionStatus = "active"
				x.LastSyncAt = time.Now()
				return nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyEventSerial measures one caller's durable ApplyEvent latency:
// the batch delay plus one commit.
func BenchmarkApplyEventSerial(b *testing.B) {
	db := openTest(b, Options{})
	a := mustCreate(b, db, "ada@example.com", "k1")
	for i := 0; b.Loop(); i++ {
		_, _, err := db.ApplyEvent(Event{ID: fmt.Sprint("evt_", i)}, a.ID, func(x *Account) error {
			x.LastSyncAt = time.Now()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
