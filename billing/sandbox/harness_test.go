package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testSecret = "whsec_test_secret_for_sandbox"

// receiver is a webhook endpoint that verifies every delivery with
// stripe-go's webhook.ConstructEvent and records the events.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	events []stripe.Event
	bad    int
	fail   int // answer 500 to this many more deliveries
	notify chan struct{}
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	rc := &receiver{t: tb, notify: make(chan struct{}, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.fail > 0 {
			rc.fail--
			http.Error(w, "temporarily broken", http.StatusInternalServerError)
			return
		}
		ev, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), testSecret)
		if err != nil {
			rc.bad++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.events = append(rc.events, ev)
		select {
		case rc.notify <- struct{}{}:
		default:
		}
	}))
	tb.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setFail(n int) { rc.mu.Lock(); rc.fail = n; rc.mu.Unlock() }

func (rc *receiver) snapshot() []stripe.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]stripe.Event(nil), rc.events...)
}

// waitFor waits until an event of typ about object id has arrived (id ""
// matches any) and returns the latest such event.
func (rc *receiver) waitFor(typ, id string) stripe.Event {
	rc.t.Helper()
	return rc.waitMatch(typ, id, func(stripe.Event) bool { return true })
}

// waitMatch is waitFor for the latest event that also satisfies ok.
func (rc *receiver) waitMatch(typ, id string, ok func(stripe.Event) bool) stripe.Event {
	rc.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		evs := rc.snapshot()
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if e.Type == stripe.EventType(typ) && (id == "" || e.Data.Object["id"] == id) && ok(e) {
				return e
			}
		}
		select {
		case <-rc.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			var got []string
			for _, e := range evs {
				got = append(got, string(e.Type))
			}
			rc.t.Fatalf("no %s event for %q arrived; got %v", typ, id, got)
		}
	}
}

// env is a running sandbox with a stripe-go client pointed at it.
type env struct {
	t    testing.TB
	sb   *Sandbox
	srv  *httptest.Server
	sc   *client.API
	rc   *receiver
	path string
	base time.Time
	cfg  Config
}

func newEnv(tb testing.TB, mod ...func(*Config)) *env {
	tb.Helper()
	e := &env{t: tb, rc: newReceiver(tb), path: filepath.Join(tb.TempDir(), "sandbox.db")}
	e.cfg = Config{Path: e.path, WebhookURL: e.rc.srv.URL, WebhookSecret: testSecret, Tick: -1,
		Retry: RetryPolicy{MaxAttempts: 3, Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}}
	for _, m := range mod {
		m(&e.cfg)
	}
	e.open()
	return e
}

func (e *env) open() {
	e.t.Helper()
	mux := http.NewServeMux()
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.Start()
	e.cfg.BaseURL = e.srv.URL + "/sandbox"
	sb, err := Open(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sb = sb
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	e.sc = newClient(e.srv.URL + "/sandbox")
	e.t.Cleanup(func() { e.close() })
}

func (e *env) close() {
	if e.sb != nil {
		if err := e.sb.Close(); err != nil {
			e.t.Error(err)
		}
		e.sb = nil
	}
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
}

// restart closes the sandbox and opens the same file again.
func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

func newClient(url string) *client.API { return newClientOver(url, nil) }

// newClientOver is newClient over hc (nil: stripe-go's default client).
func newClientOver(url string, hc *http.Client) *client.API {
	return newKeyedClient(url, "sk_test_sandbox", hc)
}

// newKeyedClient is newClientOver calling with API key key.
func newKeyedClient(url, key string, hc *http.Client) *client.API {
	sc := &client.API{}
	cfg := &stripe.BackendConfig{URL: stripe.String(url), MaxNetworkRetries: stripe.Int64(0), HTTPClient: hc,
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	sc.Init(key, &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg), Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg)})
	return sc
}

func (e *env) advance(d time.Duration) {
	e.t.Helper()
	if err := e.sb.Advance(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
}

// catalog creates the portal's plans as stripe-setup does.
func (e *env) catalog() map[string]*stripe.Price {
	e.t.Helper()
	out := map[string]*stripe.Price{}
	for _, p := range []struct {
		key    string
		amount int64
	}{{"plan_s", 900}, {"plan_m", 2900}, {"plan_xl", 9900}} {
		prod, err := e.sc.Products.New(&stripe.ProductParams{Name: stripe.String(p.key)})
		if err != nil {
			e.t.Fatal(err)
		}
		pr, err := e.sc.Prices.New(&stripe.PriceParams{Product: stripe.String(prod.ID), Currency: stripe.String("usd"),
			UnitAmount: stripe.Int64(p.amount), LookupKey: stripe.String(p.key),
			Recurring: &stripe.PriceRecurringParams{Interval: stripe.String("month")}})
		if err != nil {
			e.t.Fatal(err)
		}
		out[p.key] = pr
	}
	return out
}

func (e *env) customer(email string) *stripe.Customer {
	e.t.Helper()
	p := &stripe.CustomerParams{Email: stripe.String(email)}
	p.AddMetadata("account_id", "acct-1")
	c, err := e.sc.Customers.New(p)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// trial starts the portal's cardless 30-day trial.
func (e *env) trial(cus *stripe.Customer, pr *stripe.Price, behavior string) *stripe.Subscription {
	e.t.Helper()
	p := &stripe.SubscriptionParams{Customer: stripe.String(cus.ID),
		Items:           []*stripe.SubscriptionItemsParams{{Price: stripe.String(pr.ID)}},
		TrialPeriodDays: stripe.Int64(30),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String(behavior)}}}
	p.AddMetadata("account_id", "acct-1")
	p.AddExpand("latest_invoice")
	p.SetIdempotencyKey("trial-" + cus.ID)
	sub, err := e.sc.Subscriptions.New(p)
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

// trialOn is the start most tests share: the catalog, a customer with
// email, and its trial on plan that ends with behavior.
func (e *env) trialOn(email, plan, behavior string) (map[string]*stripe.Price, *stripe.Customer, *stripe.Subscription) {
	e.t.Helper()
	prices := e.catalog()
	cus := e.customer(email)
	return prices, cus, e.trial(cus, prices[plan], behavior)
}

// pastTrial moves the clock past a 30-day trial's end and returns the
// subscription, which must then have status want.
func (e *env) pastTrial(subID string, want stripe.SubscriptionStatus) *stripe.Subscription {
	e.t.Helper()
	e.advance(30*24*time.Hour + time.Second)
	got := e.getSub(subID)
	wantStatus(e.t, got, want)
	return got
}

func (e *env) getSub(id string) *stripe.Subscription {
	e.t.Helper()
	p := &stripe.SubscriptionParams{}
	p.AddExpand("default_payment_method")
	p.AddExpand("customer.invoice_settings.default_payment_method")
	p.AddExpand("latest_invoice")
	sub, err := e.sc.Subscriptions.Get(id, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

// noRedirect is a browser-less form poster that shows redirects instead of
// following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// submitCard posts the hosted page's card form to pageURL.
func (e *env) submitCard(pageURL, number string, extra ...string) (*http.Response, string) {
	e.t.Helper()
	v := url.Values{"cardnumber": {number}, "exp": {"12/34"}, "cvc": {"123"}, "name": {"Ada Lovelace"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	resp, err := noRedirect.PostForm(pageURL, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// setupCard runs the portal's add-a-card flow: a setup-mode Checkout
// Session completed with number, then (as the portal's webhook handler
// does) the card made the customer's invoice default. It returns the pm id.
func (e *env) setupCard(cus *stripe.Customer, subID, number string) string {
	e.t.Helper()
	p := &stripe.CheckoutSessionParams{Mode: stripe.String("setup"), Customer: stripe.String(cus.ID), Currency: stripe.String("usd"),
		SuccessURL:      stripe.String("http://portal.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:       stripe.String("http://portal.test/checkout/cancel"),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{Metadata: map[string]string{"account_id": "acct-1", "subscription_id": subID}}}
	cs, err := e.sc.CheckoutSessions.New(p)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, body := e.submitCard(cs.URL, number)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("checkout submit: %d %s", resp.StatusCode, body)
	}
	if want := "http://portal.test/checkout/success?session_id=" + cs.ID; resp.Header.Get("Location") != want {
		e.t.Fatalf("redirect to %q, want %q", resp.Header.Get("Location"), want)
	}
	e.rc.waitFor("checkout.session.completed", cs.ID)
	gp := &stripe.CheckoutSessionParams{}
	gp.AddExpand("setup_intent")
	got, err := e.sc.CheckoutSessions.Get(cs.ID, gp)
	if err != nil {
		e.t.Fatal(err)
	}
	if got.Status != stripe.CheckoutSessionStatusComplete || got.SetupIntent == nil || got.SetupIntent.Status != stripe.SetupIntentStatusSucceeded {
		e.t.Fatalf("session after completion: %+v", got)
	}
	if got.SetupIntent.Metadata["subscription_id"] != subID {
		e.t.Fatalf("setup intent metadata %v", got.SetupIntent.Metadata)
	}
	sp := &stripe.SetupIntentParams{}
	sp.AddExpand("payment_method")
	si, err := e.sc.SetupIntents.Get(got.SetupIntent.ID, sp)
	if err != nil {
		e.t.Fatal(err)
	}
	if si.PaymentMethod.Card.Last4 != number[len(number)-4:] || si.PaymentMethod.Customer.ID != cus.ID {
		e.t.Fatalf("payment method %+v", si.PaymentMethod)
	}
	up := &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(si.PaymentMethod.ID)}}
	if _, err := e.sc.Customers.Update(cus.ID, up); err != nil {
		e.t.Fatal(err)
	}
	return si.PaymentMethod.ID
}

func (e *env) invoices(subID string) []*stripe.Invoice {
	e.t.Helper()
	var out []*stripe.Invoice
	it := e.sc.Invoices.List(&stripe.InvoiceListParams{Subscription: stripe.String(subID)})
	for it.Next() {
		out = append(out, it.Invoice())
	}
	if err := it.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func wantStatus(t testing.TB, sub *stripe.Subscription, want stripe.SubscriptionStatus) {
	t.Helper()
	if sub.Status != want {
		t.Fatalf("subscription %s is %s, want %s", sub.ID, sub.Status, want)
	}
}

func webhookConstruct(payload []byte, header string) (stripe.Event, error) {
	return webhook.ConstructEvent(payload, header, testSecret)
}
