package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// copyV1 copies testdata/v1.db, a file written by the store at schema
// version 1 (main at 2b766ed; see testdata/genv1), to a temporary path.
func copyV1(t *testing.T) string {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", "v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "portal.db")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func schemaOf(t *testing.T, db *DB) int {
	t.Helper()
	var v int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchema)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrateFromV1 opens a file the previous layout wrote: everything in
// it reads as before, the file is at the current version, and the new
// facts (change feed, pending checkouts, next mail attempt) work on it.
func TestMigrateFromV1(t *testing.T) {
	path := copyV1(t)
	db := openAt(t, path, Options{NoSync: true})
	if v := schemaOf(t, db); v != SchemaVersion {
		t.Fatalf("schema version %d after Open, want %d", v, SchemaVersion)
	}
	ada, err := db.AccountByKey("SHA256:ada2")
	if err != nil {
		t.Fatal(err)
	}
	if ada.Email != "Ada@Example.com" || len(ada.Keys) != 2 || ada.Plan != "m" || ada.State != StateTrial || !ada.TrialUsed ||
		ada.CardLast4 != "4242" || ada.Version != 4 || ada.LastSyncAt.IsZero() {
		t.Errorf("ada = %+v", ada)
	}
	for name, get := range map[string]func() (Account, error){
		"email":    func() (Account, error) { return db.AccountByEmail("ada@example.com") },
		"customer": func() (Account, error) { return db.AccountByCustomer("cus_ada") },
		"key":      func() (Account, error) { return db.AccountByKey("SHA256:ada1") },
	} {
		if a, err := get(); err != nil || a.ID != ada.ID {
			t.Errorf("by %s: %s, %v", name, a.ID, err)
		}
	}
	if n, err := db.CountAccounts(); err != nil || n != 2 {
		t.Errorf("CountAccounts = %d, %v", n, err)
	}
	evs, err := db.Events(0)
	if err != nil || len(evs) != 3 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	if done, _ := db.EventProcessed("evt_1"); !done {
		t.Error("processed event forgotten")
	}
	if done, _ := db.EventProcessed("evt_2"); done {
		t.Error("failed event reads as processed")
	}
	if mine, _ := db.EventsForAccount(ada.ID, 0); len(mine) != 2 {
		t.Errorf("ada's events %+v", mine)
	}
	notices, err := db.Notices(ada.ID)
	if err != nil || len(notices) != 2 {
		t.Fatalf("notices %+v, %v", notices, err)
	}
	box, err := db.Outbox()
	if err != nil || len(box) != 2 {
		t.Fatalf("outbox %+v, %v", box, err)
	}
	if failed := box[0]; failed.Kind != "trial_will_end" || failed.MailTries != 1 || failed.MailError == "" || !failed.MailNextAt.IsZero() {
		t.Errorf("failed notice after migration %+v (due at once: no next attempt was stored)", failed)
	}
	if _, added, err := db.AddNotice(Notice{AccountID: ada.ID, Kind: "trial_will_end", Key: "sub_ada:1"}); err != nil || added {
		t.Errorf("an old notice's key no longer deduplicates: added=%v err=%v", added, err)
	}
	if au, err := db.Audit("", 0); err != nil || len(au) != 2 || au[0].Actor != "reconciler" {
		t.Errorf("audit %+v, %v", au, err)
	}
	if target, err := db.Link("tok1", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || target != "https://checkout.example/c/1" {
		t.Errorf("link %q, %v", target, err)
	}
	if _, err := db.PendingCheckout(ada.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("pending checkout on a migrated file: %v", err)
	}

	// The change feed starts on the migrated file.
	ctx := context.Background()
	if seq, err := db.LastSeq(ctx, ""); err != nil || seq != 0 {
		t.Errorf("LastSeq after migration = %d, %v", seq, err)
	}
	if _, err := db.UpdateAccount(ada.ID, func(a *Account) error { a.Plan = "xl"; return nil }); err != nil {
		t.Fatal(err)
	}
	if ch, err := db.Changes(ctx, 0, 0); err != nil || len(ch) != 1 || ch[0] != (Change{Seq: 1, AccountID: ada.ID}) {
		t.Errorf("first change on a migrated file: %+v, %v", ch, err)
	}
	retry := time.Date(2030, 1, 1, 0, 5, 0, 0, time.UTC)
	if err := db.MarkMailed(box[0].ID, retry.Add(-5*time.Minute), errors.New("smtp: 451"), retry); err != nil {
		t.Fatal(err)
	}

	// Reopened: still the current version, nothing migrated twice.
	db = reopen(t, db, path, Options{NoSync: true})
	if v := schemaOf(t, db); v != SchemaVersion {
		t.Errorf("schema version %d after reopening", v)
	}
	if a, _ := db.Account(ada.ID); a.Plan != "xl" || a.Version != 5 {
		t.Errorf("after reopening: %+v", a)
	}
	if seq, _ := db.LastSeq(ctx, ada.ID); seq != 1 {
		t.Errorf("LastSeq(ada) after reopening = %d", seq)
	}
	if box, _ := db.Outbox(); len(box) != 2 || !box[0].MailNextAt.Equal(retry) || box[0].MailTries != 2 {
		t.Errorf("next attempt not kept across a reopen: %+v", box[0])
	}
}
