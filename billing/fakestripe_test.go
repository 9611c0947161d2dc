package billing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/form"
)

// fakeStripe is an in-process stripe.Backend holding a scripted final state:
// subscriptions, customers' default cards and setup intents. It serves the
// reads the webhook handler makes (so tests control "the truth" exactly) and
// the few writes of the card flow. Lifecycle behaviour is the sandbox's job.
type fakeStripe struct {
	mu        sync.Mutex
	subs      map[string]*fakeSub
	customers map[string]string // customer → default payment method id ("" none)
	setups    map[string]fakeSetup
	failNext  atomic.Int32 // fail this many calls with a 503
	calls     atomic.Int64
	// fetched, when set, is called after a subscription was read and before
	// the reply is returned, outside the fake's lock: a test can hold a
	// fetch (that has seen the state of its moment) while the state moves on.
	fetched func(id string)
}

type fakeSub struct {
	ID, Customer, Status, Plan, Reason string
	Cancel                             bool
	Created, TrialEnd, PeriodEnd       int64
	Pending                            bool
	LatestInvoice, InvoiceStatus       string
	// Foreign: another integration's subscription of the same customer (a
	// price outside the catalog, no account_id metadata).
	Foreign bool
}

type fakeSetup struct{ Customer, PM, SubscriptionID string }

func newFakeStripe() *fakeStripe {
	return &fakeStripe{subs: map[string]*fakeSub{}, customers: map[string]string{}, setups: map[string]fakeSetup{}}
}

func (f *fakeStripe) api() *client.API {
	return client.New("sk_test_fake", &stripe.Backends{API: f, Connect: f, Uploads: f})
}

func (f *fakeStripe) setSub(s fakeSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[s.ID] = &s
}

func (f *fakeStripe) setCard(customer, pm string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.customers[customer] = pm
}

var fakeAmounts = map[string]int64{"s": 900, "m": 2900, "xl": 7900, "xxl": 19900}

func pmJSON(id string) any {
	if id == "" {
		return nil
	}
	return map[string]any{"id": id, "object": "payment_method", "type": "card", "card": map[string]any{"brand": "visa", "last4": id[len(id)-4:]}}
}

func (f *fakeStripe) subJSON(s *fakeSub) map[string]any {
	var inv any
	if s.LatestInvoice != "" {
		inv = map[string]any{"id": s.LatestInvoice, "object": "invoice", "status": s.InvoiceStatus}
	}
	var pending any
	if s.Pending {
		pending = map[string]any{"expires_at": s.PeriodEnd}
	}
	var te any
	if s.TrialEnd != 0 {
		te = s.TrialEnd
	}
	price := map[string]any{"id": "price_" + s.Plan, "object": "price", "lookup_key": DefaultLookupKey(s.Plan), "unit_amount": fakeAmounts[s.Plan], "currency": "usd"}
	if s.Foreign {
		price = map[string]any{"id": "price_other", "object": "price", "lookup_key": nil, "unit_amount": 500, "currency": "usd"}
	}
	return map[string]any{
		"id": s.ID, "object": "subscription", "status": s.Status, "created": s.Created, "currency": "usd",
		"cancel_at_period_end": s.Cancel, "trial_end": te, "current_period_end": s.PeriodEnd,
		"cancellation_details":   map[string]any{"reason": nilIfEmpty(s.Reason)},
		"default_payment_method": nil, "latest_invoice": inv, "pending_update": pending, "metadata": map[string]any{},
		"customer": map[string]any{"id": s.Customer, "object": "customer",
			"invoice_settings": map[string]any{"default_payment_method": pmJSON(f.customers[s.Customer])}},
		"items": map[string]any{"object": "list", "data": []any{map[string]any{
			"id": "si_" + s.ID, "object": "subscription_item", "quantity": 1,
			"price": price,
		}}},
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *fakeStripe) Call(method, path, key string, params stripe.ParamsContainer, v stripe.LastResponseSetter) error {
	f.calls.Add(1)
	if f.failNext.Load() > 0 && f.failNext.Add(-1) >= 0 {
		return &stripe.Error{HTTPStatusCode: http.StatusServiceUnavailable, Type: stripe.ErrorTypeAPI, Msg: "fake outage"}
	}
	obj, err := f.route(method, path, params)
	if err != nil {
		return err
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if parts := strings.Split(path, "/"); f.fetched != nil && method == http.MethodGet && len(parts) == 4 && parts[2] == "subscriptions" {
		f.fetched(parts[3])
	}
	return json.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// route answers one call from the fake's state.
func (f *fakeStripe) route(method, path string, params stripe.ParamsContainer) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")
	var obj any
	switch {
	case method == http.MethodGet && len(parts) == 2 && parts[0] == "subscriptions":
		s, ok := f.subs[parts[1]]
		if !ok {
			return nil, notFound(path)
		}
		obj = f.subJSON(s)
	case method == http.MethodGet && len(parts) == 2 && parts[0] == "customers":
		pm, ok := f.customers[parts[1]]
		if !ok {
			return nil, notFound(path)
		}
		obj = map[string]any{"id": parts[1], "object": "customer", "invoice_settings": map[string]any{"default_payment_method": pmJSON(pm)}}
	case method == http.MethodGet && len(parts) == 2 && parts[0] == "setup_intents":
		si, ok := f.setups[parts[1]]
		if !ok {
			return nil, notFound(path)
		}
		obj = map[string]any{"id": parts[1], "object": "setup_intent", "customer": si.Customer, "payment_method": pmJSON(si.PM),
			"metadata": map[string]any{"subscription_id": si.SubscriptionID}}
	case method == http.MethodPost && len(parts) == 2 && parts[0] == "customers":
		if _, ok := f.customers[parts[1]]; !ok {
			return nil, notFound(path)
		}
		if cp, ok := params.(*stripe.CustomerParams); ok && cp.InvoiceSettings != nil && cp.InvoiceSettings.DefaultPaymentMethod != nil {
			f.customers[parts[1]] = *cp.InvoiceSettings.DefaultPaymentMethod
		}
		obj = map[string]any{"id": parts[1], "object": "customer"}
	case method == http.MethodPost && len(parts) == 2 && parts[0] == "subscriptions":
		s, ok := f.subs[parts[1]]
		if !ok {
			return nil, notFound(path)
		}
		if sp, ok := params.(*stripe.SubscriptionParams); ok && sp.CancelAtPeriodEnd != nil {
			s.Cancel = *sp.CancelAtPeriodEnd
		}
		obj = f.subJSON(s)
	case method == http.MethodPost && len(parts) == 3 && parts[0] == "subscriptions" && parts[2] == "resume":
		s, ok := f.subs[parts[1]]
		if !ok {
			return nil, notFound(path)
		}
		if s.Status == "paused" {
			s.Status = "active"
		}
		obj = f.subJSON(s)
	case method == http.MethodPost && len(parts) == 3 && parts[0] == "invoices" && parts[2] == "pay":
		for _, s := range f.subs {
			if s.LatestInvoice == parts[1] {
				s.Status, s.InvoiceStatus = "active", "paid"
			}
		}
		obj = map[string]any{"id": parts[1], "object": "invoice", "status": "paid"}
	default:
		return nil, &stripe.Error{HTTPStatusCode: http.StatusBadRequest, Type: stripe.ErrorTypeInvalidRequest, Msg: "fake: unsupported " + method + " " + path}
	}
	return obj, nil
}

func notFound(path string) error {
	return &stripe.Error{HTTPStatusCode: http.StatusNotFound, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Msg: "No such object: " + path}
}

func (f *fakeStripe) CallStreaming(method, path, key string, params stripe.ParamsContainer, v stripe.StreamingLastResponseSetter) error {
	return fmt.Errorf("fake: streaming %s %s", method, path)
}

func (f *fakeStripe) CallRaw(method, path, key string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) error {
	return fmt.Errorf("fake: raw %s %s", method, path)
}

func (f *fakeStripe) CallMultipart(method, path, key, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) error {
	return fmt.Errorf("fake: multipart %s %s", method, path)
}

func (f *fakeStripe) SetMaxNetworkRetries(int64) {}
