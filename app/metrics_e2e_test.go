package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	gossh "golang.org/x/crypto/ssh"
)

type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the metric's value (a histogram's count) for the labels given as
// name=value pairs; ok is false when no such series exists.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// sum adds the values of every series of name with the given labels; 0
// when there is none (a labelled counter has no series before its first
// increment).
func (s scrape) sum(name string, labels ...string) float64 {
	total := 0.0
	f := s[name]
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		if hasLabels(m, labels) {
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

// hasLabels says whether m has each of the name=value pairs labels.
func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.Label {
			found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

func (s scrape) want(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.value(name, labels...)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
	} else if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func postEvent(t *testing.T, p *portaltest.Portal, body []byte, secret string) int {
	t.Helper()
	code, _ := postEventID(t, p, body, secret)
	return code
}

// postEventID delivers body signed with secret and returns the status and
// the X-Request-Id the portal answered with.
func postEventID(t *testing.T, p *portaltest.Portal, body []byte, secret string) (int, string) {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()})
	req, _ := http.NewRequest("POST", "http://"+p.App.HTTPAddr()+"/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", signed.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Request-Id")
}

// After a customer's journey (a session, a sign-up on a 2-day trial, the
// sandbox's webhooks), a redelivered event and a forged one, /metrics shows
// each of them, and no label carries an email or an id.
func TestMetricsAfterAJourney(t *testing.T) {
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.TrialDays = 2
	}))
	const email = "metrics-journey@example.com"
	key := portaltest.NewKey(t)
	s := p.Connect(t, key, portaltest.WithSize(160, 48))
	s.SignUp(t, email, "2")
	s.WaitFor(t, "trial, no card yet") // the subscription's webhook has committed
	s.Close()

	// One event delivered twice (ignored, then a duplicate), one forged.
	secret, err := os.ReadFile(filepath.Join(p.DataDir, "webhook_secret"))
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{
		"id": "evt_MetricsDup1", "object": "event", "type": "balance.available", "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": map[string]any{"object": "balance"}},
	})
	for i, want := range []int{200, 200} {
		if code := postEvent(t, p, ev, strings.TrimSpace(string(secret))); code != want {
			t.Fatalf("delivery %d = %d, want %d", i, code, want)
		}
	}
	if code := postEvent(t, p, ev, "whsec_forged"); code != http.StatusBadRequest {
		t.Fatalf("forged delivery = %d, want 400", code)
	}

	addr := p.App.MetricsAddr()
	// A session's end is recorded when its handler returns, a webhook's
	// just after its commit (and the sandbox may still deliver): poll until
	// the metrics agree with the store's event log.
	var (
		m         scrape
		evs       []store.Event
		processed map[string]float64
		total     float64
	)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m = scrapeMetrics(t, addr)
		if evs, err = p.App.Store().Events(1000); err != nil {
			t.Fatal(err)
		}
		processed, total = map[string]float64{}, 0
		for _, e := range evs {
			if e.Status == store.EventStatusProcessed {
				processed[e.Type]++
				total++
			}
		}
		open, _ := m.value("portal_ssh_sessions_open")
		lags, _ := m.value("portal_webhook_lag_seconds")
		if (open == 0 && lags == total) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// SSH.
	m.want(t, 1, "portal_ssh_sessions_started_total")
	m.want(t, 0, "portal_ssh_sessions_open")
	m.want(t, 1, "portal_ssh_session_duration_seconds")
	m.want(t, 1, "portal_ssh_auth_attempts_total", "method", "publickey", "result", "accepted")
	for _, reason := range []string{"rate", "total", "per-address", "sessions"} {
		m.want(t, 0, "portal_ssh_refused_total", "reason", reason)
	}
	m.want(t, 0, "portal_ssh_handshake_failures_total")
	m.want(t, 0, "portal_ssh_panics_recovered_total")

	// Webhooks: what the store logged, type by type, and the two by hand.
	if processed["customer.subscription.created"] == 0 {
		t.Fatalf("the sign-up's subscription event was not processed; events: %+v", evs)
	}
	for typ, n := range processed {
		m.want(t, n, "portal_webhook_events_total", "type", typ, "outcome", "processed")
	}
	m.want(t, 1, "portal_webhook_events_total", "type", "balance.available", "outcome", "ignored")
	m.want(t, 1, "portal_webhook_events_total", "type", "balance.available", "outcome", "duplicate")
	m.want(t, 1, "portal_webhook_events_total", "type", "unverified", "outcome", "bad_signature")
	if n := m.sum("portal_webhook_events_total", "outcome", "failed"); n != 0 {
		t.Errorf("portal_webhook_events_total{outcome=failed} = %v, want 0", n)
	}
	m.want(t, total, "portal_webhook_lag_seconds")
	if n, _ := m.value("portal_webhook_handling_seconds"); n < total+3 {
		t.Errorf("webhook latency observed %v times, want at least %v", n, total+3)
	}

	// Billing: the account on its trial, ending within 3 days, no revenue.
	m.want(t, 1, "portal_accounts", "state", "trial", "plan", "s")
	m.want(t, 1, "portal_trials_ending_3d")
	m.want(t, 0, "portal_mrr_minor_units", "currency", "usd")
	m.want(t, 1, "portal_stripe_requests_total", "operation", "POST /v1/customers", "outcome", "ok")
	m.want(t, 1, "portal_stripe_requests_total", "operation", "POST /v1/subscriptions", "outcome", "ok")
	m.want(t, 1, "portal_stripe_request_duration_seconds", "operation", "POST /v1/customers")
	m.want(t, 1, "portal_stripe_request_duration_seconds", "operation", "POST /v1/subscriptions")

	// Store and mail.
	// At least one update per processed event, the sign-up and the ignored one.
	if n, _ := m.value("portal_store_tx_duration_seconds", "op", "update"); n < total+2 {
		t.Errorf("update transactions observed %v times, want at least %v", n, total+2)
	}
	if n, _ := m.value("portal_store_tx_duration_seconds", "op", "view"); n < 1 {
		t.Errorf("view transactions observed %v times", n)
	}
	out, err := p.App.Store().Outbox()
	if err != nil {
		t.Fatal(err)
	}
	m.want(t, float64(len(out)), "portal_mail_queued")
	m.want(t, 0, "portal_mail_notices_total", "result", "sent")
	m.want(t, 0, "portal_mail_notices_total", "result", "failed")
	m.want(t, 0, "portal_state_scrape_errors")
	for _, name := range []string{"portal_store_bbolt_free_pages", "portal_store_bbolt_read_tx_total", "go_goroutines", "process_open_fds"} {
		if _, ok := m.value(name); !ok {
			t.Errorf("%s missing", name)
		}
	}

	// No label carries an email, an id or an address.
	a, err := p.App.Store().AccountByKey(gossh.FingerprintSHA256(key.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	forbidden := regexp.MustCompile(`@|\b(acc|cus|sub|evt|pm|in|cs|seti|price)_[A-Za-z0-9]{6,}|\d+\.\d+\.\d+\.\d+`)
	for name, f := range m {
		for _, mt := range f.Metric {
			for _, lp := range mt.Label {
				v := lp.GetValue()
				if forbidden.MatchString(v) || strings.Contains(v, a.ID) || strings.Contains(v, a.CustomerID) || strings.Contains(v, email) {
					t.Errorf("%s has label %s=%q", name, lp.GetName(), v)
				}
			}
		}
	}
	if t.Failed() {
		var b strings.Builder
		for name := range m {
			fmt.Fprintln(&b, name)
		}
		t.Logf("families:\n%s", b.String())
	}
}
