package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestCreateAndLookup(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	db := openTest(t, Options{Now: func() time.Time { return now }})
	a, err := db.CreateAccount("  Ada@Example.com ", testKey("k1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ID) != len("acc_")+16 || a.ID[:4] != "acc_" {
		t.Errorf("ID = %q, want acc_ + 16 chars", a.ID)
	}
	if a.Email != "Ada@Example.com" || !a.CreatedAt.Equal(now) || a.Version != 1 || !a.Keys[0].AddedAt.Equal(now) {
		t.Errorf("created account = %+v", a)
	}
	for name, lookup := range map[string]func() (Account, error){
		"Account":        func() (Account, error) { return db.Account(a.ID) },
		"AccountByKey":   func() (Account, error) { return db.AccountByKey("SHA256:k1") },
		"AccountByEmail": func() (Account, error) { return db.AccountByEmail("ada@EXAMPLE.com") },
	} {
		got, err := lookup()
		if err != nil || got.ID != a.ID {
			t.Errorf("%s = %s, %v; want %s", name, got.ID, err, a.ID)
		}
	}
	for name, lookup := range map[string]func() (Account, error){
		"Account":                 func() (Account, error) { return db.Account("acc_nope") },
		"Account empty":           func() (Account, error) { return db.Account("") },
		"AccountByKey":            func() (Account, error) { return db.AccountByKey("SHA256:nope") },
		"AccountByEmail":          func() (Account, error) { return db.AccountByEmail("nope@example.com") },
		"AccountByCustomer":       func() (Account, error) { return db.AccountByCustomer("cus_nope") },
		"AccountByCustomer empty": func() (Account, error) { return db.AccountByCustomer("") },
	} {
		if _, err := lookup(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing record: err = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := db.CreateAccount(" ", testKey("k9")); err == nil {
		t.Error("CreateAccount with an empty email succeeded")
	}
	if n, err := db.CountAccounts(); err != nil || n != 1 {
		t.Errorf("CountAccounts = %d, %v; want 1", n, err)
	}
}

func TestEmailUniqueCaseInsensitive(t *testing.T) {
	db := openTest(t, Options{})
	mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")
	if _, err := db.CreateAccount("ADA@example.COM", testKey("k3")); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("CreateAccount with a taken email in other case: err = %v, want ErrEmailTaken", err)
	}
	_, err := db.UpdateAccount(b.ID, func(a *Account) error { a.Email = "Ada@Example.com"; return nil })
	if !errors.Is(err, ErrEmailTaken) {
		t.Errorf("UpdateAccount to a taken email: err = %v, want ErrEmailTaken", err)
	}
	// Changing the email frees the old one and moves the index.
	if _, err := db.UpdateAccount(b.ID, func(a *Account) error { a.Email = "robert@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AccountByEmail("bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old email still indexed: %v", err)
	}
	if got, err := db.AccountByEmail("ROBERT@example.com"); err != nil || got.ID != b.ID {
		t.Errorf("AccountByEmail(new) = %s, %v", got.ID, err)
	}
	if _, err := db.CreateAccount("bob@example.com", testKey("k4")); err != nil {
		t.Errorf("freed email not reusable: %v", err)
	}
}

func TestSeveralKeysPerAccountAndKeyTaken(t *testing.T) {
	db := openTest(t, Options{})
	a := mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")
	if _, err := db.CreateAccount("carol@example.com", testKey("k1")); !errors.Is(err, ErrKeyTaken) {
		t.Errorf("CreateAccount with a taken key: err = %v, want ErrKeyTaken", err)
	}
	got, err := db.AddKey(a.ID, testKey("k1b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 2 || got.Version != 2 {
		t.Errorf("after AddKey: %d keys, version %d; want 2, 2", len(got.Keys), got.Version)
	}
	for _, fp := range []string{"SHA256:k1", "SHA256:k1b"} {
		if got, err := db.AccountByKey(fp); err != nil || got.ID != a.ID {
			t.Errorf("AccountByKey(%s) = %s, %v; want %s", fp, got.ID, err, a.ID)
		}
	}
	if _, err := db.AddKey(b.ID, testKey("k1b")); !errors.Is(err, ErrKeyTaken) {
		t.Errorf("AddKey of another account's key: err = %v, want ErrKeyTaken", err)
	}
	if _, err := db.AddKey("acc_nope", testKey("k5")); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddKey to a missing account: err = %v, want ErrNotFound", err)
	}
}

func TestUpdateAccount(t *testing.T) {
	db := openTest(t, Options{})
	a := mustCreate(t, db, "ada@example.com", "k1")
	b := mustCreate(t, db, "bob@example.com", "k2")

	got, err := db.UpdateAccount(a.ID, func(x *Account) error {
		x.Plan, x.State, x.CustomerID = "m", StateTrial, "cus_1"
		x.ID, x.Keys, x.Version = "acc_hijack", nil, 99
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || len(got.Keys) != 1 || got.Version != 2 || got.Plan != "m" || got.State != StateTrial {
		t.Errorf("updated = %+v", got)
	}
	if got, err := db.AccountByCustomer("cus_1"); err != nil || got.ID != a.ID {
		t.Errorf("AccountByCustomer = %s, %v", got.ID, err)
	}
	if _, err := db.UpdateAccount(b.ID, func(x *Account) error { x.CustomerID = "cus_1"; return nil }); !errors.Is(err, ErrCustomerTaken) {
		t.Errorf("linking a taken customer: err = %v, want ErrCustomerTaken", err)
	}

	boom := errors.New("boom")
	if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.Plan = "xxl"; return boom }); !errors.Is(err, boom) {
		t.Errorf("fn error not returned: %v", err)
	}
	if got, _ := db.Account(a.ID); got.Plan != "m" || got.Version != 2 {
		t.Errorf("fn error still wrote: plan %q version %d", got.Plan, got.Version)
	}
	if _, err := db.UpdateAccount("acc_nope", func(*Account) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateAccount of a missing account: err = %v, want ErrNotFound", err)
	}
}

func TestUpdateAccountConcurrentNoLostUpdates(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	a := mustCreate(t, db, "ada@example.com", "k1")
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := db.UpdateAccount(a.ID, func(x *Account) error { x.NextInvoiceAmount++; return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := db.Account(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1+workers*each || got.NextInvoiceAmount != workers*each {
		t.Errorf("version %d amount %d; want %d, %d", got.Version, got.NextInvoiceAmount, 1+workers*each, workers*each)
	}
}

func TestForEachAccount(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	for i := range 5 {
		mustCreate(t, db, fmt.Sprintf("u%d@example.com", i), fmt.Sprint("k", i))
	}
	var ids []string
	if err := db.ForEachAccount(func(a Account) bool { ids = append(ids, a.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 5 {
		t.Fatalf("visited %d accounts, want 5", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Errorf("not in id order: %v", ids)
		}
	}
	n := 0
	if err := db.ForEachAccount(func(Account) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Errorf("stop after 2: visited %d, %v", n, err)
	}
}

func TestStateLocked(t *testing.T) {
	locked := map[State]bool{StateLockedTrialEnded: true, StateLockedUnpaid: true, StateLockedCanceled: true}
	for _, s := range []State{StateNone, StateFree, StateTrial, StateActive, StateCanceling, StatePastDue, StateLockedTrialEnded, StateLockedUnpaid, StateLockedCanceled} {
		if s.Locked() != locked[s] {
			t.Errorf("%q.Locked() = %v", s, s.Locked())
		}
	}
}

// TestAccountTrialClaimFields: the trial claim fields survive a write and a
// reopen, and a record written before they existed still decodes (claim
// fields zero, the rest intact).
func TestAccountTrialClaimFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db := openAt(t, path, Options{NoSync: true})
	a := mustCreate(t, db, "claim@example.com", "k1")
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := db.UpdateAccount(a.ID, func(acc *Account) error {
		acc.TrialUsed, acc.TrialClaimedAt, acc.TrialAttempt = true, at, 2
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	old := []byte(`{"ID":"acc_old","Email":"old@example.com","Plan":"s","State":"trial","TrialUsed":true,"Version":3}`)
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAccounts).Put([]byte("acc_old"), old) }); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db, path, Options{NoSync: true})
	got, err := db.Account(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.TrialUsed || !got.TrialClaimedAt.Equal(at) || got.TrialAttempt != 2 {
		t.Errorf("after reopen: used %v claimed %v attempt %d; want true %v 2", got.TrialUsed, got.TrialClaimedAt, got.TrialAttempt, at)
	}
	got, err = db.Account("acc_old")
	if err != nil {
		t.Fatalf("old record: %v", err)
	}
	if !got.TrialUsed || got.Plan != "s" || got.Version != 3 || !got.TrialClaimedAt.IsZero() || got.TrialAttempt != 0 {
		t.Errorf("old record = %+v", got)
	}
}
