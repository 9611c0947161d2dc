package tui_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/billing/sandbox"
	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// A dropped SSH connection does not cancel a Stripe write mid-flight
// (issue 12, failure 7): the customer picks a paid plan, and the
// connection drops while the trial's subscription is being created at
// Stripe. The write completes (a request whose client gave up never
// reaches Stripe here, as on a real network), the trial starts, and
// another open session of the account shows it by itself, not "still
// being set up".
//
// The sandbox runs on its own behind a gate that holds the subscription's
// creation until the connection is gone, as `portal sandbox` does for
// several instances (the portal talks to it through STRIPE_API_BASE).
func TestJourneyDroppedConnectionKeepsTheTrial(t *testing.T) {
	t.Parallel()
	const apiKey, whsec = "sk_test_dropped0000000000000000", "whsec_dropped000000000000000000"
	var portalURL atomic.Value // where the sandbox's webhooks go, once the portal runs
	portalURL.Store("")
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sb, err := sandbox.Open(sandbox.Config{Path: filepath.Join(t.TempDir(), "sandbox.db"), APIKey: apiKey,
		BaseURL: srv.URL, WebhookURL: srv.URL + "/hook", WebhookSecret: whsec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		target := portalURL.Load().(string)
		if target == "" {
			return // before the portal runs: nothing to deliver
		}
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, target+"/webhooks/stripe", bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})
	var gate atomic.Bool
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	api := sb.Handler()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/subscriptions" && gate.CompareAndSwap(true, false) {
			// Read the body, so a client that gives up is noticed.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			arrived <- struct{}{}
			<-release
			select {
			case <-r.Context().Done():
				return // the portal gave up: Stripe never got the request
			case <-time.After(3 * time.Second):
				// Still waiting for Stripe's answer after the drop.
			}
		}
		api.ServeHTTP(w, r)
	})
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(srv.URL),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})
	if _, err := billing.Setup(context.Background(), client.New(apiKey, &stripe.Backends{API: b, Connect: b, Uploads: b}),
		billing.DefaultCatalog(), "", io.Discard); err != nil {
		t.Fatal(err)
	}
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) {
		c.Stripe = app.StripeConfig{SecretKey: apiKey, APIBase: srv.URL, WebhookSecret: whsec}
	}))
	portalURL.Store("http://" + p.App.HTTPAddr())

	key := portaltest.NewKey(t)
	s := p.Connect(t, key, wide)
	s.WaitFor(t, "Email")
	s.Type("dropped@example.com", "enter")
	s.WaitFor(t, "choose a plan")
	other := p.Connect(t, key, wide) // another session of the account, watching
	other.WaitFor(t, "choose a plan")

	gate.Store(true)
	s.Type("2")
	s.WaitFor(t, "› 2")
	s.Type("enter")
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("the trial's subscription never reached Stripe")
	}
	s.Close() // the connection drops while Stripe's write is in flight
	close(release)

	other.WaitFor(t, "30 days left") // no key pressed
	other.WaitFor(t, "State         trial, no card yet")
	a := account(t, p, key)
	if a.State != store.StateTrial || a.SubscriptionID == "" || !a.TrialClaimedAt.IsZero() {
		t.Fatalf("after the dropped connection: state %s sub %q claim %v", a.State, a.SubscriptionID, a.TrialClaimedAt)
	}
	again := p.Connect(t, key, wide)
	again.WaitFor(t, "30 days left")
	again.WaitGone(t, "being set up")
}
