package billing

import (
	"testing"
	"time"

	"github.com/portal/portal/store"
)

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

func TestCardName(t *testing.T) {
	for _, tc := range []struct{ brand, last4, want string }{
		{"visa", "4242", "Visa •••• 4242"},
		{"amex", "0005", "American Express •••• 0005"},
		{"mastercard", "", "Mastercard"},
		{"jcb", "0000", "JCB •••• 0000"},
		{"unionpay", "0005", "UnionPay •••• 0005"},
		{"discover", "1117", "Discover •••• 1117"},
		{"", "4242", "Card •••• 4242"},
	} {
		if got := CardName(tc.brand, tc.last4); got != tc.want {
			t.Errorf("CardName(%q, %q) = %q, want %q", tc.brand, tc.last4, got, tc.want)
		}
	}
	// The card_added notice (also mailed) names the card as the screens do.
	s := &Service{cat: DefaultCatalog()}
	ns := s.transitionNotices(store.Account{ID: "acc_1"}, store.Account{ID: "acc_1", HasCard: true, CardBrand: "visa", CardLast4: "4242"}, time.Time{})
	if len(ns) != 1 || ns[0].Message != "Card added: Visa •••• 4242." {
		t.Fatalf("notices %+v", ns)
	}
}
