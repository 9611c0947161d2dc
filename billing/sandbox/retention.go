package sandbox

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// IdempotencyKeyTTL is how long Stripe keeps an idempotency key.
const IdempotencyKeyTTL = 24 * time.Hour

// PruneIdempotencyKeys forgets the idempotency keys of requests that ran
// before before (wall clock), from memory and the file, in one transaction:
// a request reusing one afterwards runs anew, as at Stripe once a key is 24
// hours old. Records from before keys carried a time are pruned too.
func (s *Sandbox) PruneIdempotencyKeys(before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var old []string
	for k, r := range s.st.idempotency {
		if r.At.Before(before) {
			old = append(old, k)
		}
	}
	if len(old) == 0 {
		return 0, nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdempotency)
		if b == nil {
			return nil
		}
		for _, k := range old {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sandbox: prune idempotency keys: %w", err)
	}
	for _, k := range old {
		delete(s.st.idempotency, k)
	}
	return len(old), nil
}
