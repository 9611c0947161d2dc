package tui

import (
	"errors"
	"net/mail"
	"strings"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmailLen = 254

// ValidateEmail trims s and checks it against a strict policy on top of
// net/mail: a bare address (no display name, no angle brackets), a local part
// of at most 64 bytes, and a dotted DNS domain (no IP literals). It returns the
// trimmed address or an error whose text is a sentence to show the user as is,
// like the register screen's other errors.
func ValidateEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("Enter your email address.")
	case len(s) > maxEmailLen:
		return "", errors.New("That address is too long: 254 characters at most.")
	case strings.ContainsAny(s, "<>()"):
		return "", errors.New("Enter the bare address, like you@example.com, without a name or brackets.")
	case strings.Contains(s, "\""):
		// A quoted local part is valid mail syntax few systems accept.
		return "", errors.New("Enter the address without quotation marks, like you@example.com.")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", errors.New("That is not an email address. Try something like you@example.com.")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	switch {
	case len(local) > 64:
		return "", errors.New("The part before @ is too long: 64 characters at most.")
	case strings.HasPrefix(domain, "["):
		return "", errors.New("Use a domain name after @, not an IP address.")
	case !strings.Contains(domain, "."), strings.HasPrefix(domain, "."), strings.HasSuffix(domain, "."),
		strings.Contains(domain, ".."):
		return "", errors.New("The domain after @ needs a dot, like example.com.")
	}
	labels := strings.Split(domain, ".")
	if tld := labels[len(labels)-1]; len(tld) < 2 || strings.Trim(tld, "0123456789") == "" {
		// No top-level domain has one letter, or only digits.
		return "", errors.New("The domain must end in a real top-level domain, like .com or .io.")
	}
	for _, label := range labels {
		if len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", errors.New("The domain after @ is not valid.")
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127) {
				return "", errors.New("The domain after @ is not valid.")
			}
		}
	}
	return s, nil
}
