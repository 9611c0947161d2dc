package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/portal/portal/store/storetest"
)

// bolt opens a new bbolt store with opts for each test; the caller closes it.
func bolt(opts store.Options) func(t testing.TB) store.Store {
	return func(t testing.TB) store.Store {
		db, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
}

// TestContract runs the engine-neutral contract suite on bbolt.
func TestContract(t *testing.T) {
	storetest.Run(t, bolt(store.Options{NoSync: true}))
}

// TestContractSynced runs the suite with fsync on: Update's group commit.
func TestContractSynced(t *testing.T) {
	storetest.Run(t, bolt(store.Options{}))
}

// TestSlowSubscriberNeverBlocksWriters is the contract's check at a larger
// scale (10,000 writes) on bbolt.
func TestSlowSubscriberNeverBlocksWriters(t *testing.T) {
	db := bolt(store.Options{NoSync: true})(t)
	defer db.Close()
	storetest.SlowSubscriber(t, db, 10000, 5*time.Minute)
}
