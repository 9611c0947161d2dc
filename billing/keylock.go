package billing

import "sync"

// keyLock serializes work per key (a Stripe customer id) with a fixed array
// of mutexes indexed by a hash of the key. Keys that share a slot only share
// a wait; memory stays the same however many customers there are.
//
// Hold at most one slot at a time, and never across a call that may wait
// for another holder (a slot is not reentrant).
type keyLock [256]sync.Mutex

// lock locks key's slot and returns its unlock. The empty key locks nothing.
func (k *keyLock) lock(key string) (unlock func()) {
	if key == "" {
		return func() {}
	}
	// FNV-1a, inline: no allocation per event.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	m := &k[h%uint32(len(k))]
	m.Lock()
	return m.Unlock
}
