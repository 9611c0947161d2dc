package billing

import "github.com/portal/portal/store"

// MRR is the monthly recurring revenue by currency, in minor units: each
// plan's monthly amount times the accounts whose Stripe subscription bills
// now, status active (a subscription canceling at period end still bills
// until then) or past_due (Stripe retries; the revenue is still expected).
// Trialing, unpaid, paused and canceled subscriptions bring nothing. It reads
// the store's running counts, never the accounts. Every currency of a paid
// plan has an entry, zero included.
func MRR(counts []store.AccountCount, c Catalog) map[string]int64 {
	out := map[string]int64{}
	for _, p := range c.Paid() {
		out[p.Currency] += 0
	}
	for _, n := range counts {
		if n.SubscriptionStatus != "active" && n.SubscriptionStatus != "past_due" {
			continue
		}
		p, ok := c.Plan(n.Plan)
		if !ok || p.Free() {
			continue
		}
		out[p.Currency] += p.Amount * int64(n.N)
	}
	return out
}
