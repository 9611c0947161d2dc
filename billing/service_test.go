package billing

import "testing"

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{900, "usd", "$9.00"},
		{900, "", "$9.00"},
		{5, "USD", "$0.05"},
		{-1250, "usd", "-$12.50"},
		{-1250, "eur", "-€12.50"},
		{1999, "eur", "€19.99"},
		{123456789, "usd", "$1,234,567.89"},
		{100000, "usd", "$1,000.00"},
		{99999, "usd", "$999.99"},
		{1200, "chf", "12.00 CHF"},
		{500, "jpy", "¥500"},
		{500, "JPY", "¥500"},
		{-300, "jpy", "-¥300"},
		{15000, "krw", "15,000 KRW"},
		{7, "xof", "7 XOF"},
		{0, "vnd", "0 VND"},
		{5120, "kwd", "5.120 KWD"},
	} {
		if got := FormatAmount(c.amount, c.currency); got != c.want {
			t.Errorf("FormatAmount(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}
