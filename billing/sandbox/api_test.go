package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
)

func stripeErr(t testing.TB, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("want a *stripe.Error, got %v", err)
	}
	return se
}

func TestErrorShapes(t *testing.T) {
	e := newEnv(t)
	prices := e.catalog()

	_, err := e.sc.Customers.Get("cus_missing", nil)
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 404 || se.Type != stripe.ErrorTypeInvalidRequest || se.Code != stripe.ErrorCodeResourceMissing || se.RequestID == "" {
		t.Fatalf("missing customer: %+v", se)
	}

	p := &stripe.CustomerParams{Email: stripe.String("x@example.com")}
	p.AddExtra("bogus", "1")
	_, err = e.sc.Customers.New(p)
	se = stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Param != "bogus" || !strings.Contains(se.Msg, "unknown parameter") {
		t.Fatalf("unknown param: %+v", se)
	}

	sp := &stripe.SubscriptionParams{Customer: stripe.String("cus_nope"), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_s"].ID)}}}
	_, err = e.sc.Subscriptions.New(sp)
	se = stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Code != stripe.ErrorCodeResourceMissing || se.Param != "customer" {
		t.Fatalf("missing customer param: %+v", se)
	}

	cus := e.customer("y@example.com")
	sp = &stripe.SubscriptionParams{Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_s"].ID)}},
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{MissingPaymentMethod: stripe.String("explode")}}}
	_, err = e.sc.Subscriptions.New(sp)
	se = stripeErr(t, err)
	if se.Param != "trial_settings[end_behavior][missing_payment_method]" {
		t.Fatalf("bad enum: %+v", se)
	}

	sp = &stripe.SubscriptionParams{Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String("price_nope")}}}
	_, err = e.sc.Subscriptions.New(sp)
	if se = stripeErr(t, err); se.Param != "items[0][price]" || se.Code != stripe.ErrorCodeResourceMissing {
		t.Fatalf("missing price: %+v", se)
	}

	// A card error keeps Stripe's shape.
	sp = &stripe.SubscriptionParams{Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_s"].ID)}},
		PaymentBehavior: stripe.String("error_if_incomplete")}
	_, err = e.sc.Subscriptions.New(sp)
	if se = stripeErr(t, err); se.HTTPStatusCode != 400 || !strings.Contains(se.Msg, "no attached payment source") {
		t.Fatalf("no card: %+v", se)
	}

	// No key, or a live key, is refused.
	req, _ := http.NewRequest("GET", e.srv.URL+"/sandbox/v1/customers", nil)
	if code := statusOf(t, req); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	// Another API version is refused.
	req, _ = http.NewRequest("GET", e.srv.URL+"/sandbox/v1/customers", nil)
	req.Header.Set("Authorization", "Bearer sk_test_x")
	req.Header.Set("Stripe-Version", "2024-06-20")
	if code := statusOf(t, req); code != 400 {
		t.Fatalf("other version: %d", code)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	prices := e.catalog()
	cus := e.customer("z@example.com")
	a := e.trial(cus, prices["plan_s"], "pause")
	b := e.trial(cus, prices["plan_s"], "pause") // same key, same body
	if a.ID != b.ID {
		t.Fatalf("replay created a second subscription: %s %s", a.ID, b.ID)
	}
	if b.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	list := e.sc.Subscriptions.List(&stripe.SubscriptionListParams{Customer: stripe.String(cus.ID)})
	n := 0
	for list.Next() {
		n++
	}
	if n != 1 {
		t.Fatalf("%d subscriptions", n)
	}
	p := &stripe.SubscriptionParams{Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_m"].ID)}},
		TrialPeriodDays: stripe.Int64(30)}
	p.SetIdempotencyKey("trial-" + cus.ID)
	_, err := e.sc.Subscriptions.New(p)
	se := stripeErr(t, err)
	if se.Type != stripe.ErrorTypeIdempotency || se.HTTPStatusCode != 400 {
		t.Fatalf("mismatch: %+v", se)
	}
	// Keys survive a restart.
	e.restart()
	c := e.trial(cus, prices["plan_s"], "pause")
	if c.ID != a.ID {
		t.Fatal("idempotency key forgotten across restart")
	}
}

func TestExpand(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("w@example.com", "plan_s", "pause")
	pm := e.setupCard(cus, sub.ID, "5555555555554444")
	got := e.getSub(sub.ID)
	if got.Customer.Email != "w@example.com" || got.Customer.Metadata["account_id"] != "acct-1" ||
		got.Customer.InvoiceSettings.DefaultPaymentMethod.Card.Brand != "mastercard" || got.LatestInvoice.ID == "" {
		t.Fatalf("expanded: %+v", got)
	}
	plain, err := e.sc.Subscriptions.Get(sub.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Customer.ID != cus.ID || plain.Customer.Email != "" || plain.LatestInvoice.ID == "" || plain.LatestInvoice.Lines != nil {
		t.Fatalf("unexpanded references should be ids: %+v", plain.Customer)
	}
	cp := &stripe.CustomerParams{}
	cp.AddExpand("invoice_settings.default_payment_method")
	c, err := e.sc.Customers.Get(cus.ID, cp)
	if err != nil {
		t.Fatal(err)
	}
	if c.InvoiceSettings.DefaultPaymentMethod.ID != pm || c.InvoiceSettings.DefaultPaymentMethod.Card.Last4 != "4444" {
		t.Fatalf("customer expand %+v", c.InvoiceSettings.DefaultPaymentMethod)
	}
	bad := &stripe.SubscriptionParams{}
	bad.AddExpand("status")
	if _, err := e.sc.Subscriptions.Get(sub.ID, bad); err == nil {
		t.Fatal("expanding a non-expandable field succeeded")
	}
	lp := &stripe.PriceListParams{LookupKeys: []*string{stripe.String("plan_m")}, Active: stripe.Bool(true)}
	lp.AddExpand("data.product")
	it := e.sc.Prices.List(lp)
	n := 0
	for it.Next() {
		n++
		if it.Price().Product.Name != "plan_m" {
			t.Fatalf("product %+v", it.Price().Product)
		}
	}
	if n != 1 || it.Err() != nil {
		t.Fatalf("lookup_keys list: %d %v", n, it.Err())
	}
}

func TestRestartKeepsState(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("r@example.com", "plan_s", "pause")
	e.advance(10 * 24 * time.Hour)
	clock := e.sb.Now()
	e.rc.waitFor("customer.subscription.created", sub.ID)
	e.rc.setFail(1 << 30) // nothing gets through until the restart
	if _, err := e.sc.Customers.Update(cus.ID, &stripe.CustomerParams{Name: stripe.String("Renamed")}); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if d := e.sb.Now().Sub(clock); d < 0 || d > time.Minute {
		t.Fatalf("clock moved by %s across restart", d)
	}
	got := e.getSub(sub.ID)
	if got.Status != stripe.SubscriptionStatusTrialing || got.Customer.Name != "Renamed" {
		t.Fatalf("after restart: %s %q", got.Status, got.Customer.Name)
	}
	e.rc.setFail(0)
	ev := e.rc.waitFor("customer.updated", cus.ID)
	if ev.Data.PreviousAttributes["name"] != nil {
		t.Fatalf("previous name %v", ev.Data.PreviousAttributes["name"])
	}
	e.advance(21 * 24 * time.Hour)
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusPaused)
	if fi, err := os.Stat(e.path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi.Mode(), err)
	}
}

func TestWebhookRetryAndFailure(t *testing.T) {
	e := newEnv(t)
	e.rc.setFail(2) // the third attempt succeeds (MaxAttempts 3)
	cus := e.customer("v@example.com")
	e.rc.waitFor("customer.created", cus.ID)

	e.rc.setFail(1 << 30)
	c2 := e.customer("u@example.com")
	// After 3 failed attempts the event is marked failed and listed as undelivered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Data []struct {
				PendingWebhooks int64 `json:"pending_webhooks"`
				Data            struct {
					Object struct {
						ID string `json:"id"`
					} `json:"object"`
				} `json:"data"`
				Delivery deliverySummary `json:"delivery"`
			} `json:"data"`
		}
		e.getJSON("/v1/events?delivery_success=false", &list)
		found := false
		for _, ev := range list.Data {
			if ev.Data.Object.ID == c2.ID && ev.PendingWebhooks == 1 && ev.Delivery.Status == deliveryFailed &&
				ev.Delivery.Endpoints[0].Attempts == 3 && ev.Delivery.Endpoints[0].LastError == "HTTP 500" {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failed delivery never showed as failed: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The first one was delivered in the end.
	it := e.sc.Events.List(&stripe.EventListParams{Type: stripe.String("customer.created"), DeliverySuccess: stripe.Bool(true)})
	ok := false
	for it.Next() {
		ok = ok || it.Event().Data.Object["id"] == cus.ID
	}
	if !ok {
		t.Fatal("retried event not delivered")
	}
	e.rc.mu.Lock()
	bad := e.rc.bad
	e.rc.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries failed signature verification", bad)
	}
}

func TestEventsAndSignature(t *testing.T) {
	e := newEnv(t)
	cus := e.customer("s@example.com")
	ev := e.rc.waitFor("customer.created", cus.ID)
	got, err := e.sc.Events.Get(ev.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "customer.created" || got.APIVersion != stripe.APIVersion || got.Request.IdempotencyKey == "" || got.Request.ID == "" {
		t.Fatalf("event %+v", got)
	}
	// The signature scheme is Stripe's: a tampered payload fails.
	payload := []byte(`{"id":"evt_1","object":"event","api_version":"2023-10-16"}`)
	hdr := signatureHeader(time.Now(), payload, testSecret)
	if _, err := webhookConstruct(payload, hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := webhookConstruct(append(payload, ' '), hdr); err == nil {
		t.Fatal("tampered payload verified")
	}
}

func TestTestClockOverTheWire(t *testing.T) {
	var moved atomic.Int32
	var paused atomic.Bool
	var e *env
	var subID atomic.Value
	e = newEnv(t, func(c *Config) {
		c.OnAdvance = func() {
			moved.Add(1)
			// Called once what fell due was played out, with no lock held
			// (reading the API here would deadlock otherwise).
			paused.Store(e.getSub(subID.Load().(string)).Status == stripe.SubscriptionStatusPaused)
		}
	})
	prices := e.catalog()
	sub := e.trial(e.customer("q@example.com"), prices["plan_s"], "pause")
	subID.Store(sub.ID)
	clk, err := e.sc.TestHelpersTestClocks.Get(ClockID, nil)
	if err != nil {
		t.Fatal(err)
	}
	to := clk.FrozenTime + 31*86400
	adv, err := e.sc.TestHelpersTestClocks.Advance(ClockID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(to)})
	if err != nil {
		t.Fatal(err)
	}
	if adv.FrozenTime < to || adv.Status != stripe.TestHelpersTestClockStatusReady {
		t.Fatalf("advance: %+v", adv)
	}
	wantStatus(t, e.getSub(sub.ID), stripe.SubscriptionStatusPaused)
	if moved.Load() != 1 || !paused.Load() {
		t.Fatalf("OnAdvance: called %d times, saw the trial's end played out: %v", moved.Load(), paused.Load())
	}
	_, err = e.sc.TestHelpersTestClocks.Advance(ClockID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(clk.FrozenTime)})
	if se := stripeErr(t, err); se.Param != "frozen_time" {
		t.Fatalf("backwards: %+v", se)
	}
	if err := e.sb.Advance(context.Background(), -time.Second); err == nil {
		t.Fatal("Advance accepted a negative duration")
	}
}

func TestWebhookSecretFile(t *testing.T) {
	wantSecretFile(t, LoadOrCreateWebhookSecret, func(a string) bool { return strings.HasPrefix(a, "whsec_") })
}

// wantSecretFile checks that load makes a valid secret in a new file only
// its owner reads, and loads the same one again.
func wantSecretFile(t *testing.T, load func(path string) (string, error), valid func(string) bool) {
	t.Helper()
	p := t.TempDir() + "/secret"
	a, err := load(p)
	if err != nil || !valid(a) {
		t.Fatal(a, err)
	}
	b, err := load(p)
	if err != nil || a != b {
		t.Fatal("secret changed", a, b, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

func TestWebhookEndpointsAPI(t *testing.T) {
	e := newEnv(t)
	we, err := e.sc.WebhookEndpoints.New(&stripe.WebhookEndpointParams{URL: stripe.String(e.rc.srv.URL),
		EnabledEvents: stripe.StringSlice([]string{"customer.subscription.updated"}), APIVersion: stripe.String(stripe.APIVersion)})
	if err != nil {
		t.Fatal(err)
	}
	if we.Secret != testSecret {
		t.Fatalf("the configured URL's endpoint must sign with the configured secret, got %q", we.Secret)
	}
	other, err := e.sc.WebhookEndpoints.New(&stripe.WebhookEndpointParams{URL: stripe.String("http://127.0.0.1:1/hook"),
		EnabledEvents: stripe.StringSlice([]string{"*"})})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(other.Secret, "whsec_") {
		t.Fatalf("secret %q", other.Secret)
	}
	got, err := e.sc.WebhookEndpoints.Get(other.ID, nil)
	if err != nil || got.Secret != "" {
		t.Fatalf("retrieve shows the secret or fails: %q %v", got.Secret, err)
	}
}

// statusOf sends req and returns the status of the response.
func statusOf(t testing.TB, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// getJSON reads a sandbox API path raw, for sandbox-only fields.
func (e *env) getJSON(path string, v any) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/sandbox"+path, nil)
	req.Header.Set("Authorization", "Bearer sk_test_x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		e.t.Fatal(err)
	}
}

func TestAPIKey(t *testing.T) {
	key, err := LoadOrCreateAPIKey(t.TempDir() + "/apikey")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.APIKey = key })
	base := e.srv.URL + "/sandbox"

	// Wrong keys, through stripe-go, get Stripe's 401 and never see the key echoed whole.
	for _, wrong := range []string{"sk_test_sandbox", "sk_test_0123456789abcdef0123456789abcdXYZ", key + "x", key[:len(key)-1], "sk_live_0123456789abcdef0123456789abcdef"} {
		it := newKeyedClient(base, wrong, nil).Customers.List(&stripe.CustomerListParams{})
		it.Next()
		se := stripeErr(t, it.Err())
		if se.HTTPStatusCode != 401 || se.Type != stripe.ErrorTypeInvalidRequest || !strings.HasPrefix(se.Msg, "Invalid API Key provided: ") {
			t.Fatalf("key %q: %+v", wrong, se)
		}
		if strings.Contains(se.Msg, wrong) || strings.Contains(se.Msg, key) {
			t.Fatalf("key %q echoed: %q", wrong, se.Msg)
		}
	}
	if _, err := e.sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("mallory@example.com")}); stripeErr(t, err).HTTPStatusCode != 401 {
		t.Fatalf("a write with a wrong key: %v", err)
	}

	// No key at all, on a route and off the routes.
	for _, path := range []string{"/v1/customers", "/v1/nowhere"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error apiError }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 401 || body.Error.Type != "invalid_request_error" || !strings.Contains(body.Error.Message, "did not provide an API key") {
			t.Fatalf("%s without a key: %d %+v", path, resp.StatusCode, body)
		}
	}

	// The right key works, as Bearer (stripe-go) and as the basic-auth user.
	e.sc = newKeyedClient(base, key, nil)
	cus := e.customer("ada@example.com")
	req, _ := http.NewRequest("GET", base+"/v1/customers/"+cus.ID, nil)
	req.SetBasicAuth(key, "")
	if code := statusOf(t, req); code != 200 {
		t.Fatalf("basic auth with the right key: %d", code)
	}

	// The hosted pages need no key: a browser has none.
	e.setupCard(cus, "", "4242424242424242")
	ps, err := e.sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String(cus.ID), ReturnURL: stripe.String("http://portal.test/")})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := getPage(t, ps.URL); code != 200 {
		t.Fatalf("portal page without a key: %d", code)
	}
}

func TestAPIKeyFile(t *testing.T) {
	wantSecretFile(t, LoadOrCreateAPIKey, func(a string) bool { return strings.HasPrefix(a, "sk_test_") && len(a) == len("sk_test_")+32 })
	// A file holding something else is an error, not a silent new key.
	w := t.TempDir() + "/whsec"
	if _, err := LoadOrCreateWebhookSecret(w); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadOrCreateAPIKey(w); err == nil {
		t.Fatalf("a webhook secret file loaded as API key %q", k)
	}
	if _, err := Open(Config{Path: t.TempDir() + "/db", APIKey: "sk_live_x"}); err == nil {
		t.Fatal("Open accepted a live key")
	}
}

func TestTrialPeriodDaysBounds(t *testing.T) {
	e := newEnv(t)
	prices := e.catalog()
	cus := e.customer("t@example.com")
	sub := func(days int64) error {
		_, err := e.sc.Subscriptions.New(&stripe.SubscriptionParams{Customer: stripe.String(cus.ID),
			Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(prices["plan_s"].ID)}}, TrialPeriodDays: stripe.Int64(days)})
		return err
	}
	checkout := func(days int64) error {
		_, err := e.sc.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("subscription"), Customer: stripe.String(cus.ID),
			SuccessURL: stripe.String("http://portal.test/ok"), CancelURL: stripe.String("http://portal.test/cancel"),
			LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(prices["plan_s"].ID), Quantity: stripe.Int64(1)}},
			SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{TrialPeriodDays: stripe.Int64(days)}})
		return err
	}
	const subParam, csParam = "trial_period_days", "subscription_data[trial_period_days]"
	for _, tc := range []struct {
		name  string
		call  func(int64) error
		days  int64
		param string // "" when the call must succeed
		msg   string
	}{
		{"subscription -1", sub, -1, subParam, "must be at least 0"},
		{"subscription min int", sub, -1 << 63, subParam, "must be at least 0"},
		{"subscription 0", sub, 0, "", ""},
		{"subscription 730", sub, 730, "", ""},
		{"subscription 731", sub, 731, subParam, "maximum number of trial period days is 730"},
		{"checkout -5", checkout, -5, csParam, "must be at least 1"},
		{"checkout 0", checkout, 0, csParam, "must be at least 1"},
		{"checkout 1", checkout, 1, "", ""},
		{"checkout 731", checkout, 731, csParam, "maximum number of trial period days is 730"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(tc.days)
			if tc.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			se := stripeErr(t, err)
			if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeInvalidRequest || se.Param != tc.param || !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("got %d %s %q %q; want param %q and a message with %q", se.HTTPStatusCode, se.Type, se.Param, se.Msg, tc.param, tc.msg)
			}
		})
	}
}

func TestCloseContextLeavesHungDeliveryPending(t *testing.T) {
	// The endpoint hangs until the sandbox is reopened, then answers as
	// the verifying receiver does.
	var hang atomic.Bool
	hang.Store(true)
	var rc http.Handler
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hang.Load() {
			rc.ServeHTTP(w, r)
			return
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
		select { // until the sender gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hook.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets hook.Close finish
	// One attempt allowed: were the aborted post counted, the delivery
	// would be marked failed and never sent again.
	e := newEnv(t, func(c *Config) {
		c.WebhookURL = hook.URL
		c.HTTPClient = &http.Client{} // no timeout of its own: only CloseContext can end the post
		c.Retry.MaxAttempts = 1
	})
	rc = e.rc.srv.Config.Handler
	cus := e.customer("hang@example.com")
	<-arrived

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	sb := e.sb
	e.sb = nil
	start := time.Now()
	err := sb.CloseContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CloseContext: %v, want the deadline's error", err)
	}
	// Not a speed claim: Close's own bound is 5 s, so returning well before
	// it shows CloseContext honoured ctx.
	if waited := time.Since(start); waited >= closeWait {
		t.Fatalf("CloseContext waited %s with a 200ms context", waited)
	}
	e.close()

	hang.Store(false)
	e.open()
	e.rc.waitFor("customer.created", cus.ID)
}

// A portal restarted on another address gets what was still pending for
// the old one: deliveries follow the endpoint's current URL, as at Stripe.
func TestPendingDeliveryFollowsNewWebhookURL(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusBadGateway)
	}))
	t.Cleanup(dead.Close)
	var tries atomic.Int32
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		dead.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)
	e := newEnv(t, func(c *Config) {
		c.WebhookURL = old.URL
		c.Retry = RetryPolicy{MaxAttempts: 1000, Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	})
	cus := e.customer("moved@example.com")
	deadline := time.Now().Add(10 * time.Second)
	for tries.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the old address was never tried")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.close()
	e.cfg.WebhookURL = e.rc.srv.URL
	e.open()
	e.rc.waitFor("customer.created", cus.ID)
}
