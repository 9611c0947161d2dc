package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store keeps running counts of accounts by state, plan and Stripe
// subscription status, and an index of trial ends, updated in the same
// transaction as every account write. Metrics read them on each scrape:
// a scan of 100,000 accounts every 15 seconds would cost more than the
// portal's own work.
var (
	bucketAccountCounts = []byte("account_counts") // state 0 plan 0 sub status → uint64
	bucketTrialEnds     = []byte("trial_ends")     // timeKey(TrialEnd) + account id → nil
)

// AccountCount is the number of accounts with one combination of state,
// plan and raw Stripe subscription status.
type AccountCount struct {
	State              State
	Plan               string
	SubscriptionStatus string
	N                  int
}

// countKey is the account's key in the counts bucket.
func countKey(a *Account) []byte {
	return join([]byte(a.State), []byte(a.Plan), []byte(a.SubscriptionStatus))
}

// trialEndKey is the account's entry in the trial-end index, nil when it has
// none: only accounts trialing (or canceling a trial) with an end are there.
func trialEndKey(a *Account) []byte {
	if a.TrialEnd.IsZero() || (a.State != StateTrial && a.State != StateCanceling) {
		return nil
	}
	return append(timeKey(a.TrialEnd), a.ID...)
}

// countAccount moves old's contribution to the counts and the trial-end index
// over to a's; old is nil for a new account. Every account write calls it in
// its transaction.
func countAccount(tx *bolt.Tx, old, a *Account) error {
	counts, ends := tx.Bucket(bucketAccountCounts), tx.Bucket(bucketTrialEnds)
	if counts == nil || ends == nil {
		return fmt.Errorf("store: account counts missing (store not opened through Open)")
	}
	if old != nil {
		if ok, nk := countKey(old), countKey(a); !bytes.Equal(ok, nk) {
			if err := addCount(counts, ok, -1); err != nil {
				return err
			}
			if err := addCount(counts, nk, 1); err != nil {
				return err
			}
		}
		ok, nk := trialEndKey(old), trialEndKey(a)
		if bytes.Equal(ok, nk) {
			// The entry is there already: rewriting it would dirty its
			// pages and cost every commit of a trialing account two more
			// page writes (BenchmarkWebhookIngest).
			return nil
		}
		if ok != nil {
			if err := ends.Delete(ok); err != nil {
				return err
			}
		}
	} else if err := addCount(counts, countKey(a), 1); err != nil {
		return err
	}
	if k := trialEndKey(a); k != nil {
		return ends.Put(k, nil)
	}
	return nil
}

func addCount(b *bolt.Bucket, key []byte, delta int64) error {
	var n int64
	if v := b.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n <= 0 {
		return b.Delete(key)
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(n))
	return b.Put(key, v[:])
}

// initCounts creates the counts and the trial-end index on a store written
// before they existed, from one scan of the accounts. Later opens find them.
func initCounts(bdb *bolt.DB) error {
	return bdb.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccountCounts) != nil && tx.Bucket(bucketTrialEnds) != nil {
			return nil
		}
		for _, name := range [][]byte{bucketAccountCounts, bucketTrialEnds} {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("store: create %s: %w", name, err)
			}
		}
		return tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			var a Account
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("store: decode account %q: %w", k, err)
			}
			return countAccount(tx, nil, &a)
		})
	})
}

// AccountCounts returns the running counts of accounts by state, plan and
// subscription status; combinations with no account are left out. It reads
// one small bucket, whatever the number of accounts.
func (db *DB) AccountCounts() ([]AccountCount, error) {
	var out []AccountCount
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccountCounts).ForEach(func(k, v []byte) error {
			parts := bytes.SplitN(k, []byte{0}, 3)
			if len(parts) != 3 || len(v) != 8 {
				return fmt.Errorf("store: bad account count entry %q", k)
			}
			out = append(out, AccountCount{
				State: State(parts[0]), Plan: string(parts[1]), SubscriptionStatus: string(parts[2]),
				N: int(binary.BigEndian.Uint64(v)),
			})
			return nil
		})
	})
	return out, err
}

// TrialsEndingBetween counts accounts trialing (or canceling during a trial)
// whose trial ends in [from, to), from the trial-end index.
func (db *DB) TrialsEndingBetween(from, to time.Time) (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTrialEnds).Cursor()
		end := timeKey(to)
		for k, _ := c.Seek(timeKey(from)); k != nil && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}
