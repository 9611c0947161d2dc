package sandbox

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// A key older than 24 hours is forgotten, in memory and across a restart:
// a request reusing it runs anew instead of replaying or mismatching.
func TestIdempotencyKeysPrunedAfter24Hours(t *testing.T) {
	wall := time.Now()
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return wall } })
	prices := e.catalog()
	cus := e.customer("keys@example.com")
	a := e.trial(cus, prices["plan_s"], "pause") // key trial-<cus>

	if n, err := e.sb.PruneIdempotencyKeys(wall.Add(-IdempotencyKeyTTL)); err != nil || n != 0 {
		t.Fatalf("prune of fresh keys: %d, %v", n, err)
	}
	if b := e.trial(cus, prices["plan_s"], "pause"); b.ID != a.ID {
		t.Fatalf("a fresh key did not replay: %s then %s", a.ID, b.ID)
	}
	n, err := e.sb.PruneIdempotencyKeys(wall.Add(25 * time.Hour).Add(-IdempotencyKeyTTL))
	if err != nil || n == 0 {
		t.Fatalf("prune of day-old keys: %d, %v", n, err)
	}
	e.restart()
	// The same key with another body would be a mismatch while kept.
	p := &stripe.SubscriptionParams{Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_m"].ID)}},
		TrialPeriodDays: stripe.Int64(30)}
	p.SetIdempotencyKey("trial-" + cus.ID)
	sub, err := e.sc.Subscriptions.New(p)
	if err != nil {
		t.Fatalf("a pruned key still binds: %v", err)
	}
	if sub.ID == a.ID || sub.LastResponse.Header.Get("Idempotent-Replayed") == "true" {
		t.Fatalf("a pruned key replayed %s", sub.ID)
	}
}
