package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openTest opens a store in a temporary directory and closes it at cleanup.
func openTest(tb testing.TB, opts Options) *DB {
	tb.Helper()
	return openAt(tb, filepath.Join(tb.TempDir(), "sub", "portal.db"), opts)
}

// joinBy returns a function that lists field of each item, each followed
// by a space, and fails the test on err.
func joinBy[T any](tb testing.TB, field func(T) string) func([]T, error) string {
	return func(items []T, err error) string {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		s := ""
		for _, it := range items {
			s += field(it) + " "
		}
		return s
	}
}

// openAt opens the store file at path; the test closes it at the end (again,
// harmlessly, when the test closed it itself).
func openAt(tb testing.TB, path string, opts Options) *DB {
	tb.Helper()
	db, err := Open(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// reopen closes db and opens its file at path again, as a restart does.
func reopen(tb testing.TB, db *DB, path string, opts Options) *DB {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	return openAt(tb, path, opts)
}

func testKey(n string) Key {
	return Key{Fingerprint: "SHA256:" + n, PublicKey: "ssh-ed25519 AAAA" + n}
}

func mustCreate(tb testing.TB, db *DB, email, fp string) Account {
	tb.Helper()
	a, err := db.CreateAccount(email, testKey(fp))
	if err != nil {
		tb.Fatalf("CreateAccount(%q): %v", email, err)
	}
	return a
}

func TestOpenCreatesPrivateFileAndReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "portal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	a := mustCreate(t, db, "x@example.com", "k1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700)

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.AccountByKey("SHA256:k1")
	if err != nil || got.ID != a.ID || got.Email != "x@example.com" {
		t.Fatalf("after reopen AccountByKey = %+v, %v; want %s", got, err, a.ID)
	}
}

func TestSecondOpenTimesOutNamingTheFile(t *testing.T) {
	db := openTest(t, Options{})
	start := time.Now()
	_, err := Open(db.Path(), Options{Timeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), db.Path()) || !errors.Is(err, bolt.ErrTimeout) {
		t.Errorf("error %q should name %s and wrap bbolt's timeout", err, db.Path())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("second Open took %s: it should give up after its timeout", d)
	}
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	setSchema := func(v string) {
		t.Helper()
		bdb, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		err = bdb.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, []byte(v))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setSchema("99")
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 99") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a newer schema: err = %v, want a clear schema version error", err)
	}
	setSchema("1")
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open of the current schema: %v", err)
	}
	db.Close()
}

func TestClosedDBErrorIsNotNotFound(t *testing.T) {
	db := openTest(t, Options{})
	mustCreate(t, db, "x@example.com", "k1")
	db.Close()
	_, err := db.AccountByKey("SHA256:k1")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("AccountByKey on a closed DB: err = %v, want a non-NotFound error", err)
	}
}
