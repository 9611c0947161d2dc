package billing

import (
	"math"
	"strings"
	"testing"

	"rsc.io/qr"
)

// Short-link tokens (issue 11) carry at least 128 random bits, so guessing
// is hopeless at any rate, yet a link on the default public URL still fits
// one 80-column line and a version-3 QR code (29 modules) at level L, the
// level the terminal draws.
func TestShortLinkTokenStrength(t *testing.T) {
	seen := map[rune]bool{}
	for _, r := range tokenAlphabet {
		if seen[r] {
			t.Fatalf("alphabet repeats %q", r)
		}
		seen[r] = true
	}
	// newToken maps each random byte to a character by its low 5 bits.
	if len(tokenAlphabet) != 32 {
		t.Fatalf("alphabet of %d characters, newToken needs 32", len(tokenAlphabet))
	}
	if bits := float64(tokenLen) * math.Log2(float64(len(tokenAlphabet))); bits < 128 {
		t.Errorf("tokens carry %.0f bits, want at least 128", bits)
	}
	used := map[rune]bool{}
	for range 1000 {
		tok := newToken()
		if len(tok) != tokenLen || strings.Trim(tok, tokenAlphabet) != "" {
			t.Fatalf("token %q", tok)
		}
		for _, r := range tok {
			used[r] = true
		}
	}
	if len(used) != len(tokenAlphabet) {
		t.Errorf("1,000 tokens used %d of the %d characters", len(used), len(tokenAlphabet))
	}

	link := "http://localhost:8080/l/" + newToken()
	if len(link) > 80 {
		t.Errorf("%q is %d characters, more than one 80-column line", link, len(link))
	}
	code, err := qr.Encode(link, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	if code.Size > 29 {
		t.Errorf("%q is a %d-module QR code, want version 3 (29) at most", link, code.Size)
	}
}
