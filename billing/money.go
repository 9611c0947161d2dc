package billing

import "github.com/portal/portal/internal/money"

// FormatAmount renders an amount in the currency's minor units (Stripe's
// convention) for people, with thousands grouped: $9.00, €1,234.50, ¥500,
// 5.120 KWD, 12.00 CHF, -$5.00. Every screen and message uses it, so amounts
// read the same everywhere; it is internal/money.Format, which the sandbox's
// hosted pages use too (the sandbox does not import billing).
func FormatAmount(amount int64, currency string) string { return money.Format(amount, currency) }
