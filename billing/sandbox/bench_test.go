package sandbox

import (
	"fmt"
	"testing"

	stripe "github.com/stripe/stripe-go/v76"
)

// benchEnv is a sandbox without a webhook receiver, so the numbers are the
// API's own (events are still recorded).
func benchEnv(b *testing.B) *env {
	b.Helper()
	return newEnv(b, func(c *Config) { c.WebhookURL, c.WebhookSecret = "", "" })
}

func BenchmarkRetrieveSubscription(b *testing.B) {
	e := benchEnv(b)
	prices := e.catalog()
	sub := e.trial(e.customer("bench@example.com"), prices["plan_s"], "pause")
	p := &stripe.SubscriptionParams{}
	p.AddExpand("latest_invoice")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.sc.Subscriptions.Get(sub.ID, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateSubscription(b *testing.B) {
	e := benchEnv(b)
	prices := e.catalog()
	cus := e.customer("bench@example.com")
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		p := &stripe.SubscriptionParams{Customer: stripe.String(cus.ID),
			Items:           []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_s"].ID)}},
			TrialPeriodDays: stripe.Int64(30),
			TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
				MissingPaymentMethod: stripe.String("pause")}},
			Metadata: map[string]string{"account_id": fmt.Sprint(i)}}
		p.SetIdempotencyKey(fmt.Sprintf("bench-%d", i))
		if _, err := e.sc.Subscriptions.New(p); err != nil {
			b.Fatal(err)
		}
	}
}
