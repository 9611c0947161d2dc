package app

import (
	"testing"
	"time"

	"github.com/portal/portal/store"
)

// The retention job prunes at start: an event processed past -retain goes,
// a recent one stays.
func TestRetentionJobPrunesOldEvents(t *testing.T) {
	a := newApp(t, Config{Retain: time.Hour})
	now := time.Now()
	for _, ev := range []store.Event{
		{ID: "evt_old", Type: "x", Status: store.EventStatusProcessed, ReceivedAt: now.Add(-2 * time.Hour)},
		{ID: "evt_recent", Type: "x", Status: store.EventStatusProcessed, ReceivedAt: now.Add(-time.Minute)},
	} {
		if err := a.store.RecordEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	runApp(t, a)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if done, err := a.store.EventProcessed("evt_old"); err == nil && !done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("evt_old not pruned within 10s of start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if done, err := a.store.EventProcessed("evt_recent"); err != nil || !done {
		t.Fatalf("recent event kept: %v, %v", done, err)
	}
}
