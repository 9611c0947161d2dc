package tui_test

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
)

// setCancel flips cancel_at_period_end on a subscription through the
// sandbox's Stripe API, as a change made in Stripe's dashboard would; the
// sandbox then POSTs the signed customer.subscription.updated webhook.
func setCancel(tb testing.TB, p *portaltest.Portal, subID string, cancel bool) {
	tb.Helper()
	stripePost(tb, p, "subscriptions/"+subID, url.Values{"cancel_at_period_end": {fmt.Sprint(cancel)}}, nil)
}

// BenchmarkWebhookToScreen measures, over 200 events per iteration, the time
// from a change at (sandboxed) Stripe to the changed cell on an open
// session's emulated screen: the sandbox's webhook POST, signature check,
// event record, re-fetch, commit, change feed, registry, re-read, render,
// SSH and the emulator. It starts the clock before the API call that causes
// the webhook, so it bounds the webhook-POST-to-screen latency from above.
//
//	go test ./tui -run '^$' -bench WebhookToScreen -benchtime 1x
func BenchmarkWebhookToScreen(b *testing.B) {
	p := portaltest.Start(b, portaltest.WithLogger(slog.New(slog.DiscardHandler)))
	key := portaltest.NewKey(b)
	s := p.Connect(b, key, portaltest.WithSize(100, 30))
	s.SignUp(b, "bench@example.com", "3")
	s.WaitFor(b, "30 days left")
	a, err := p.App.Store().AccountByKey(fingerprint(key))
	if err != nil {
		b.Fatal(err)
	}
	const events = 200
	var lat []time.Duration
	for b.Loop() {
		for i := range events {
			cancel := i%2 == 0
			want := "trial, no card yet"
			if cancel {
				want = "it ends, then Free" // the trial, canceled at its end
			}
			start := time.Now()
			setCancel(b, p, a.SubscriptionID, cancel)
			s.WaitFor(b, want)
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat)), "events")
}

// BenchmarkIdleDashboardBytes measures what an idle dashboard costs: the
// bytes the server sends over one minute (plus a second, so one aligned
// tick falls inside) to a session sitting on a trial countdown, with more
// than a day left (the text changes hourly) and with less than a day left
// (it changes each minute). A minute carries at most one changed line:
// with more than a day left that is once an hour (the window may catch it,
// as just after the start "30 days" becomes "29 days 23 hours"), so the
// hourly average is about 1/60 of the figure. It takes about two minutes.
//
//	go test ./tui -run '^$' -bench IdleDashboardBytes -benchtime 1x
func BenchmarkIdleDashboardBytes(b *testing.B) {
	p := portaltest.Start(b, portaltest.WithLogger(slog.New(slog.DiscardHandler)))
	runs := 0
	for _, tc := range []struct {
		name    string
		advance time.Duration
		wait    string
	}{
		{"more-than-a-day", 0, "30 days left"},
		{"last-day", 29*day + 12*time.Hour, "hours left"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			key := portaltest.NewKey(b)
			s := p.Connect(b, key, portaltest.WithSize(80, 24))
			// -count reruns this body on the same portal: a fresh address each time.
			runs++
			s.SignUp(b, fmt.Sprintf("%s-%d@example.com", tc.name, runs), "3")
			s.WaitFor(b, "30 days left")
			if tc.advance > 0 {
				if err := p.App.Sandbox().Advance(b.Context(), tc.advance); err != nil {
					b.Fatal(err)
				}
				s.WaitFor(b, tc.wait)
			}
			// The move's webhooks (trial_will_end raises a banner) may
			// still be landing: measure the idle screen, not their redraw.
			webhooksDelivered(b, p)
			time.Sleep(time.Second)
			var perMin float64
			for b.Loop() {
				before := s.BytesRead()
				time.Sleep(time.Minute + time.Second)
				perMin = float64(s.BytesRead()-before) * 60 / 61
			}
			b.ReportMetric(perMin, "bytes/min")
		})
	}
}
