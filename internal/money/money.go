// Package money writes amounts for people: the one formatter of the portal's
// screens and mails (billing.FormatAmount) and of the offline sandbox's
// hosted pages, so a price reads the same everywhere. It imports nothing of
// ours, so billing and billing/sandbox can both use it without one importing
// the other.
package money

import (
	"strconv"
	"strings"
)

// zeroDecimal lists the currencies Stripe counts in whole units (its
// "zero-decimal currencies"): an amount of 500 JPY is 500 JPY, not 5.00.
var zeroDecimal = map[string]bool{
	"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true, "mga": true,
	"pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true,
}

// threeDecimal lists the currencies Stripe counts in thousandths.
var threeDecimal = map[string]bool{"bhd": true, "jod": true, "kwd": true, "omr": true, "tnd": true}

// symbols are the currencies written with a sign before the amount; the
// others get their ISO code after it.
var symbols = map[string]string{"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}

// Format renders an amount in the currency's minor units (Stripe's
// convention) for people, with thousands grouped: $9.00, €1,234.50, ¥500,
// ¥1,000, -$5.00 (a credit), 5.120 KWD, 12.00 CHF. The currency is matched
// case-insensitively; "" is usd.
func Format(amount int64, currency string) string {
	currency = strings.ToLower(currency)
	if currency == "" {
		currency = "usd"
	}
	sign := ""
	u := uint64(amount)
	if amount < 0 {
		sign, u = "-", uint64(-amount) // math.MinInt64 too: -x wraps to itself, and its uint64 is 2^63
	}
	unit, digits := uint64(100), 2
	switch {
	case zeroDecimal[currency]:
		unit, digits = 1, 0
	case threeDecimal[currency]:
		unit, digits = 1000, 3
	}
	v := group(u / unit)
	if digits > 0 {
		frac := strconv.FormatUint(u%unit, 10)
		v += "." + strings.Repeat("0", digits-len(frac)) + frac
	}
	if sym, ok := symbols[currency]; ok {
		return sign + sym + v
	}
	return sign + v + " " + strings.ToUpper(currency)
}

// group writes n with a comma between each group of three digits.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
