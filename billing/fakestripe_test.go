package billing

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	charges   map[string]string // charge → customer
	failNext  atomic.Int32      // fail this many calls with a 503
	calls     atomic.Int64
	// fetched, when set, is called after a subscription was read and before
	// the reply is returned, outside the fake's lock: a test can hold a
	// fetch (that has seen the state of its moment) while the state moves on.
	fetched func(id string)

	// createFaults scripts subscription creations: the next creation takes
	// the first fault and drops it; with none left, creations succeed.
	createFaults []createFault
	// sending, when set, is called when a subscription creation arrives,
	// before anything happens, outside the fake's lock; created, after a
	// subscription was created and before the reply is returned.
	sending, created func(key string)
	// createKeys are the idempotency keys of subscription creations, in
	// order, replays included.
	createKeys []string
	// replies holds each idempotency key's first outcome, replayed for the
	// key as Stripe does: a subscription or customer id, or an error.
	replies  map[string]fakeReply
	listFail atomic.Int32 // fail this many subscription listings with a 503
	lists    atomic.Int64 // subscription listings served
	seq      int
}

// createFault is what happens to one subscription creation.
type createFault int

const (
	createRefused  createFault = iota + 1 // 400: nothing created, nothing saved for the key
	createDown                            // 500 before creating: nothing created; the 500 is replayed for the key
	createLost500                         // created, then a 500 (replayed for the key)
	createLostConn                        // created, then the connection drops: no answer at all
)

type fakeReply struct {
	id  string
	err error
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
	// AccountID is the account_id metadata, "" for none.
	AccountID string
	// Schedule is the subscription schedule attached, "" for none; its
	// current phase is this period on Plan, and when ScheduledPlan is set
	// a next phase on that plan starts at PeriodEnd.
	Schedule, ScheduledPlan string
}

type fakeSetup struct{ Customer, PM, SubscriptionID string }

func newFakeStripe() *fakeStripe {
	return &fakeStripe{subs: map[string]*fakeSub{}, customers: map[string]string{}, setups: map[string]fakeSetup{}, charges: map[string]string{}, replies: map[string]fakeReply{}}
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
	meta := map[string]any{}
	if s.AccountID != "" {
		meta["account_id"] = s.AccountID
	}
	price := map[string]any{"id": "price_" + s.Plan, "object": "price", "lookup_key": DefaultLookupKey(s.Plan), "unit_amount": fakeAmounts[s.Plan], "currency": "usd"}
	if s.Foreign {
		price = map[string]any{"id": "price_other", "object": "price", "lookup_key": nil, "unit_amount": 500, "currency": "usd"}
	}
	var sched any
	if s.Schedule != "" {
		phase := func(plan string, start int64) map[string]any {
			return map[string]any{"start_date": start, "end_date": start + 30*86400, "items": []any{map[string]any{
				"quantity": 1, "price": map[string]any{"id": "price_" + plan, "object": "price", "lookup_key": DefaultLookupKey(plan)}}}}
		}
		phases := []any{phase(s.Plan, s.PeriodEnd-30*86400)}
		if s.ScheduledPlan != "" {
			phases = append(phases, phase(s.ScheduledPlan, s.PeriodEnd))
		}
		sched = map[string]any{"id": s.Schedule, "object": "subscription_schedule", "status": "active", "subscription": s.ID,
			"current_phase": map[string]any{"start_date": s.PeriodEnd - 30*86400, "end_date": s.PeriodEnd}, "phases": phases}
	}
	return map[string]any{
		"id": s.ID, "object": "subscription", "status": s.Status, "created": s.Created, "currency": "usd", "schedule": sched,
		"cancel_at_period_end": s.Cancel, "trial_end": te, "current_period_end": s.PeriodEnd,
		"cancellation_details":   map[string]any{"reason": nilIfEmpty(s.Reason)},
		"default_payment_method": nil, "latest_invoice": inv, "pending_update": pending, "metadata": meta,
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
	if method == http.MethodPost && (path == "/v1/subscriptions" || path == "/v1/customers") {
		return f.create(path, params, v)
	}
	obj, err := f.route(method, path, params)
	if err != nil {
		return err
	}
	if parts := strings.Split(path, "/"); f.fetched != nil && method == http.MethodGet && len(parts) == 4 && parts[2] == "subscriptions" {
		f.fetched(parts[3])
	}
	return decodeInto(obj, v)
}

func decodeInto(obj, v any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// create serves POST /v1/customers and POST /v1/subscriptions with
// idempotency keys (a key's first outcome is replayed) and, for
// subscriptions, the scripted createFaults.
func (f *fakeStripe) create(path string, params stripe.ParamsContainer, v stripe.LastResponseSetter) error {
	var key string
	if p := params.GetParams(); p != nil && p.IdempotencyKey != nil {
		key = *p.IdempotencyKey
	}
	if path == "/v1/subscriptions" && f.sending != nil {
		f.sending(key)
	}
	var made bool // a subscription was created by this call
	obj, err := func() (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if path == "/v1/subscriptions" {
			f.createKeys = append(f.createKeys, key)
		}
		if r, ok := f.replies[key]; ok && key != "" {
			if r.err != nil {
				return nil, r.err
			}
			if path == "/v1/customers" {
				return map[string]any{"id": r.id, "object": "customer"}, nil
			}
			return f.subJSON(f.subs[r.id]), nil
		}
		f.seq++
		if path == "/v1/customers" {
			id := fmt.Sprintf("cus_fake%d", f.seq)
			f.customers[id] = ""
			f.replies[key] = fakeReply{id: id}
			return map[string]any{"id": id, "object": "customer"}, nil
		}
		var fault createFault
		if len(f.createFaults) > 0 {
			fault, f.createFaults = f.createFaults[0], f.createFaults[1:]
		}
		switch fault {
		case createRefused:
			return nil, &stripe.Error{HTTPStatusCode: http.StatusBadRequest, Type: stripe.ErrorTypeInvalidRequest, Msg: "fake: refused"}
		case createDown:
			err := &stripe.Error{HTTPStatusCode: http.StatusInternalServerError, Type: stripe.ErrorTypeAPI, Msg: "fake: down"}
			f.replies[key] = fakeReply{err: err}
			return nil, err
		}
		sp, ok := params.(*stripe.SubscriptionParams)
		if !ok || sp.Customer == nil || len(sp.Items) != 1 || sp.Items[0].Price == nil {
			return nil, &stripe.Error{HTTPStatusCode: http.StatusBadRequest, Type: stripe.ErrorTypeInvalidRequest, Msg: "fake: bad subscription"}
		}
		created := time.Now().Unix() + int64(f.seq)
		sub := &fakeSub{ID: fmt.Sprintf("sub_fake%d", f.seq), Customer: *sp.Customer, Status: "trialing",
			Plan: strings.TrimPrefix(*sp.Items[0].Price, "price_"), Created: created, AccountID: sp.Metadata["account_id"]}
		if sp.TrialPeriodDays != nil {
			sub.TrialEnd = created + *sp.TrialPeriodDays*24*3600
			sub.PeriodEnd = sub.TrialEnd
		}
		f.subs[sub.ID], made = sub, true
		switch fault {
		case createLost500:
			err := &stripe.Error{HTTPStatusCode: http.StatusInternalServerError, Type: stripe.ErrorTypeAPI, Msg: "fake: lost"}
			f.replies[key] = fakeReply{err: err}
			return nil, err
		case createLostConn:
			f.replies[key] = fakeReply{id: sub.ID}
			return nil, errors.New("fake: connection reset by peer")
		}
		f.replies[key] = fakeReply{id: sub.ID}
		return f.subJSON(sub), nil
	}()
	if made && f.created != nil {
		f.created(key)
	}
	if err != nil {
		return err
	}
	return decodeInto(obj, v)
}

// subscriptionIDs returns the ids of every subscription of customer, sorted.
func (f *fakeStripe) subscriptionIDs(customer string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, s := range f.subs {
		if s.Customer == customer {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// holdFirst sets hook so that its first call closes reached and waits until
// the test closes release; later calls pass.
func holdFirst(hook *func(string)) (reached, release chan struct{}) {
	reached, release = make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	*hook = func(string) {
		if held.CompareAndSwap(false, true) {
			close(reached)
			<-release
		}
	}
	return reached, release
}

// holdFirstFetch makes the first subscription fetch close fetched and then
// wait until the test closes release (500 ms at most), so that the test can
// act between one delivery's fetch and its commit.
func (f *fakeStripe) holdFirstFetch() (fetched, release chan struct{}) {
	fetched, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.fetched = func(string) {
		once.Do(func() {
			close(fetched)
			select {
			case <-release:
			case <-time.After(500 * time.Millisecond):
			}
		})
	}
	return fetched, release
}

// keys returns the idempotency keys of subscription creations so far.
func (f *fakeStripe) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.createKeys)
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
	case method == http.MethodGet && len(parts) == 2 && parts[0] == "charges":
		cus, ok := f.charges[parts[1]]
		if !ok {
			return nil, notFound(path)
		}
		obj = map[string]any{"id": parts[1], "object": "charge", "customer": cus}
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

// CallRaw serves list calls: GET /v1/subscriptions?customer=…, newest
// first, on one page.
func (f *fakeStripe) CallRaw(method, path, key string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) error {
	f.calls.Add(1)
	if method != http.MethodGet || path != "/v1/subscriptions" || body == nil {
		return fmt.Errorf("fake: raw %s %s", method, path)
	}
	if f.listFail.Load() > 0 && f.listFail.Add(-1) >= 0 {
		return &stripe.Error{HTTPStatusCode: http.StatusServiceUnavailable, Type: stripe.ErrorTypeAPI, Msg: "fake outage"}
	}
	f.lists.Add(1)
	var customer string
	if c := body.Get("customer"); len(c) == 1 {
		customer = c[0]
	}
	f.mu.Lock()
	var subs []*fakeSub
	for _, s := range f.subs {
		if s.Customer == customer {
			subs = append(subs, s)
		}
	}
	slices.SortFunc(subs, func(a, b *fakeSub) int { return cmp.Compare(b.Created, a.Created) })
	data := []any{}
	for _, s := range subs {
		data = append(data, f.subJSON(s))
	}
	f.mu.Unlock()
	return decodeInto(map[string]any{"object": "list", "url": "/v1/subscriptions", "has_more": false, "data": data}, v)
}

func (f *fakeStripe) CallMultipart(method, path, key, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) error {
	return fmt.Errorf("fake: multipart %s %s", method, path)
}

func (f *fakeStripe) SetMaxNetworkRetries(int64) {}
