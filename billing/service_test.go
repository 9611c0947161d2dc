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
		{1999, "eur", "19.99 EUR"},
		{500, "jpy", "500 JPY"},
		{500, "JPY", "500 JPY"},
		{-300, "jpy", "-300 JPY"},
		{15000, "krw", "15000 KRW"},
		{7, "xof", "7 XOF"},
		{0, "vnd", "0 VND"},
		{5120, "kwd", "5.120 KWD"},
	} {
		if got := FormatAmount(c.amount, c.currency); got != c.want {
			t.Errorf("FormatAmount(%d, %q) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}
