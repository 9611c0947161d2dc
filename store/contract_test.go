package store_test

import (
	"path/filepath"
	"testing"

	"github.com/portal/portal/store"
	"github.com/portal/portal/store/storetest"
)

// TestContract runs the engine-neutral contract suite on bbolt.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store {
		db, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// TestContractSynced runs the suite with fsync on: Update's group commit.
func TestContractSynced(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store {
		db, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
