package tui

import (
	"strings"
	"testing"
)

func TestValidateEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"you@example.com", "you@example.com", true},
		{"  you@example.com \t", "you@example.com", true},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", true},
		{"", "", false},
		{"   ", "", false},
		{"you", "", false},
		{"you@", "", false},
		{"@example.com", "", false},
		{"you@localhost", "", false},
		{"you@[127.0.0.1]", "", false},
		{"Your Name <you@example.com>", "", false},
		{"<you@example.com>", "", false},
		{"\"quoted\"@example.com", "", false},
		{"you@example..com", "", false},
		{"you@.example.com", "", false},
		{"you@example.com.", "", false},
		{"you@-example.com", "", false},
		{"you@exa_mple.com", "", false},
		{"you@example.com (comment)", "", false},
		{"a@b.c, d@e.f", "", false},
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{"you@" + strings.Repeat("a", 250) + ".com", "", false},
		{"you\x00@example.com", "", false},
		{"a@b.c", "", false},       // a one-letter top-level domain
		{"a@b.123", "", false},     // an all-digit one
		{"a@b.io", "a@b.io", true}, // two letters are enough
		{"a@b.xn--p1ai", "a@b.xn--p1ai", true},
	}
	for _, tt := range tests {
		got, err := ValidateEmail(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateEmail(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && got != tt.want {
			t.Errorf("ValidateEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Each refusal names what is wrong with the address typed: a quoted local
// part is not told it has a display name.
func TestValidateEmailMessages(t *testing.T) {
	for in, want := range map[string]string{
		"\"quoted\"@example.com":      "without quotation marks",
		"Your Name <you@example.com>": "without a name or brackets",
		"a@b.c":                       "top-level domain",
	} {
		_, err := ValidateEmail(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateEmail(%q) = %v, want a message with %q", in, err, want)
		}
	}
}
