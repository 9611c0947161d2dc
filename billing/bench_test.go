package billing

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// BenchmarkWebhookIngest measures the webhook listener end to end on durable
// commits (fsync on; bbolt Batch groups concurrent events): signature check,
// processed-event lookup, re-fetch of the subscription (from an in-process
// fake, so Stripe's latency is left out), Derive, and the atomic commit.
// Deliveries are concurrent, as Stripe's are. Reports events/s and the p99
// handler latency.
func BenchmarkWebhookIngest(b *testing.B) {
	fake := newFakeStripe()
	env := newWebhookEnv(b, fake, false)
	const accounts = 256
	for i := range accounts {
		cus, sub := fmt.Sprintf("cus_b%04d", i), fmt.Sprintf("sub_b%04d", i)
		fake.setCard(cus, "")
		fake.setSub(fakeSub{ID: sub, Customer: cus, Status: "trialing", Plan: "m", Created: 1, TrialEnd: 1900000000, PeriodEnd: 1900000000})
		a := newAccount(b, env.db, fmt.Sprintf("bench%04d@example.com", i))
		if _, err := env.db.UpdateAccount(a.ID, func(acc *store.Account) error { acc.CustomerID, acc.Plan = cus, "m"; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	b.SetParallelism(32) // goroutines per core: handlers mostly wait for the group commit
	testkit.ParallelLatency(b, func() (time.Time, bool) {
		n := seq.Add(1)
		i := n % accounts
		e := testEvent{ID: fmt.Sprintf("evt_bench_%d", n), Type: "customer.subscription.updated",
			Obj: subObj(fmt.Sprintf("sub_b%04d", i), fmt.Sprintf("cus_b%04d", i))}
		p := e.payload(stripe.APIVersion)
		sig := sign(p, testSecret, time.Now())
		t0 := time.Now()
		if code := post(b, env.h, p, sig); code != http.StatusOK {
			b.Errorf("status %d", code)
		}
		return t0, true
	})
}
