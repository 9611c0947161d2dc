package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/portal/portal/internal/boltcopy"
	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole store file to w, as of one
// moment, and returns the bytes written. It runs in a read transaction:
// webhooks and sessions keep writing meanwhile (bbolt never blocks writers
// on readers), though pages freed during a long copy are reused only after
// it. The copy is a complete store file: open it with Open, or check it
// with CheckFile. header, when not nil, is told the copy's size before it
// is written (a tar header needs it first).
func (db *DB) Backup(w io.Writer, header func(size int64) error) (int64, error) {
	n, err := boltcopy.WriteTo(db.bolt, w, header)
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// CheckFile checks the store file at path, read-only, without the lock a
// running portal holds on its own file: bbolt's page-level consistency
// check, then the store's own invariants (see Verify).
func CheckFile(path string) error {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("store: check %s: %w", path, err)
	}
	defer bdb.Close()
	return bdb.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("store: check %s: %w", path, errors.Join(errs...))
		}
		if err := verify(tx); err != nil {
			return fmt.Errorf("store: check %s: %w", path, err)
		}
		return nil
	})
}

// Verify checks the store's invariants in one read transaction: every
// account decodes and is indexed by its email, keys and customer; every
// index entry points at an account holding it; every event is indexed by
// time; the running account counts equal a count of the accounts.
func (db *DB) Verify() error {
	return db.bolt.View(verify)
}

func verify(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("bucket %s missing", name)
		}
	}
	idxEmail, idxKey, idxCus := tx.Bucket(bucketIdxEmail), tx.Bucket(bucketIdxKey), tx.Bucket(bucketIdxCustomer)
	counts := map[string]uint64{}
	accounts := 0
	err := tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
		var a Account
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("account %q does not decode: %w", k, err)
		}
		accounts++
		if string(idxEmail.Get(emailKey(a.Email))) != a.ID {
			return fmt.Errorf("account %s is not indexed by its email", a.ID)
		}
		for _, key := range a.Keys {
			if string(idxKey.Get([]byte(key.Fingerprint))) != a.ID {
				return fmt.Errorf("account %s is not indexed by its key %s", a.ID, key.Fingerprint)
			}
		}
		if a.CustomerID != "" && string(idxCus.Get([]byte(a.CustomerID))) != a.ID {
			return fmt.Errorf("account %s is not indexed by its customer", a.ID)
		}
		counts[string(countKey(&a))]++
		return nil
	})
	if err != nil {
		return err
	}
	for _, idx := range []struct {
		name string
		b    *bolt.Bucket
	}{{"email", idxEmail}, {"key", idxKey}, {"customer", idxCus}} {
		if n := idx.b.Stats().KeyN; idx.name == "email" && n != accounts {
			return fmt.Errorf("email index has %d entries for %d accounts", n, accounts)
		}
		if err := idx.b.ForEach(func(k, id []byte) error {
			if tx.Bucket(bucketAccounts).Get(id) == nil {
				return fmt.Errorf("%s index entry %q points to missing account %s", idx.name, k, id)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	kept := map[string]uint64{}
	if b := tx.Bucket(bucketAccountCounts); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("account count %q is not 8 bytes", k)
			}
			kept[string(k)] = uint64FromKey(v)
			return nil
		}); err != nil {
			return err
		}
		if !maps.Equal(kept, counts) {
			return fmt.Errorf("running account counts %v differ from the accounts %v", kept, counts)
		}
	}
	events, byTime := tx.Bucket(bucketEvents).Stats().KeyN, tx.Bucket(bucketEventsByTime).Stats().KeyN
	if events != byTime {
		return fmt.Errorf("%d events but %d in the time index", events, byTime)
	}
	return nil
}

func uint64FromKey(v []byte) uint64 {
	var n uint64
	for _, b := range v {
		n = n<<8 | uint64(b)
	}
	return n
}
