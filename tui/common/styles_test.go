package common

import (
	"math"
	"strconv"
	"testing"
)

// luminance is the WCAG relative luminance of "#RRGGBB".
func luminance(tb testing.TB, hex string) float64 {
	tb.Helper()
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			tb.Fatal(err)
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

func contrast(a, b float64) float64 { return (max(a, b) + 0.05) / (min(a, b) + 0.05) }

// Labels, help lines and hints are readable: at least 4.5:1 (WCAG AA) on a
// black background with the dark colours and on white with the light ones.
// (ANSI 59, #5C5C5C, was about 3:1 on black.)
func TestSubtleTextContrast(t *testing.T) {
	subtle := subtleColor
	if c := contrast(luminance(t, subtle.Dark), 0); c < 4.5 {
		t.Errorf("dark profile: %s on black is %.2f:1, want ≥ 4.5", subtle.Dark, c)
	}
	if c := contrast(luminance(t, subtle.Light), 1); c < 4.5 {
		t.Errorf("light profile: %s on white is %.2f:1, want ≥ 4.5", subtle.Light, c)
	}
}
