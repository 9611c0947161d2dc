package sandbox

import (
	"crypto/rand"
	"math/big"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix followed by n random base62 characters, like Stripe's
// ids (cus_NffrFeUfNV2Hib). crypto/rand keeps ids unguessable: hosted page
// URLs carry them and are the only credential a browser presents.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(idAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("sandbox: crypto/rand failed: " + err.Error()) // the OS entropy source never fails on supported platforms
		}
		b[i] = idAlphabet[v.Int64()]
	}
	return prefix + string(b)
}
