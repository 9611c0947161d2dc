package billing

import (
	"testing"
	"time"

	"github.com/portal/portal/store"
)

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
