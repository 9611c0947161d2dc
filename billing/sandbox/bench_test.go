package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	_, _, sub := e.trialOn("bench@example.com", "plan_s", "pause")
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

// BenchmarkRetrieveBaseline is BenchmarkRetrieveSubscription against a server
// that answers with the very bytes the sandbox sent for that subscription:
// the floor of loopback HTTP plus stripe-go's encoding and decoding, so the
// sandbox's own cost is the difference.
func BenchmarkRetrieveBaseline(b *testing.B) {
	e := benchEnv(b)
	_, _, sub := e.trialOn("bench@example.com", "plan_s", "pause")
	p := &stripe.SubscriptionParams{}
	p.AddExpand("latest_invoice")
	var body []byte
	capture := newClientOver(e.srv.URL+"/sandbox", &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
		return resp, err
	})})
	if _, err := capture.Subscriptions.Get(sub.ID, p); err != nil {
		b.Fatal(err)
	}
	canned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(canned.Close)
	sc := newClient(canned.URL)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := sc.Subscriptions.Get(sub.ID, p); err != nil {
			b.Fatal(err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
