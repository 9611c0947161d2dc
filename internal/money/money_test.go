package money

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{900, "usd", "$9.00"},
		{900, "", "$9.00"},
		{0, "usd", "$0.00"},
		{5, "USD", "$0.05"},
		{-5, "usd", "-$0.05"},
		{-500, "usd", "-$5.00"},
		{-1250, "eur", "-€12.50"},
		{-505, "gbp", "-£5.05"},
		{-1250, "usd", "-$12.50"},
		{1999, "eur", "€19.99"},
		{123456789, "usd", "$1,234,567.89"},
		{100000, "usd", "$1,000.00"},
		{99999, "usd", "$999.99"},
		{1200, "chf", "12.00 CHF"},
		{-1200, "chf", "-12.00 CHF"},
		{1000, "jpy", "¥1,000"},
		{500, "JPY", "¥500"},
		{-300, "jpy", "-¥300"},
		{15000, "krw", "15,000 KRW"},
		{7, "xof", "7 XOF"},
		{0, "vnd", "0 VND"},
		{5120, "kwd", "5.120 KWD"},
		{-5, "kwd", "-0.005 KWD"},
		{math.MinInt64, "jpy", "-¥9,223,372,036,854,775,808"},
	} {
		if got := Format(c.amount, c.currency); got != c.want {
			t.Errorf("Format(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}
