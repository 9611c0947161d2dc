package sandbox

import (
	"bytes"
	"encoding/json"
)

// APIVersion is the only Stripe API version the sandbox speaks.
const APIVersion = "2023-10-16"

type event struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            eventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int64        `json:"pending_webhooks"`
	Request         eventRequest `json:"request"`
	Type            string       `json:"type"`
	// Delivery is sandbox-only (stripe-go ignores it): how delivery to the
	// webhook endpoints went. Filled in when events are read through the
	// API, never in delivered payloads.
	Delivery *deliverySummary `json:"delivery,omitempty"`

	// ObjectID orders deliveries per object.
	ObjectID string `json:"-"`
}

type eventData struct {
	Object             json.RawMessage `json:"object"`
	PreviousAttributes json.RawMessage `json:"previous_attributes,omitempty"`
}

type eventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// deliverySummary is the sandbox's view of an event's webhook deliveries.
type deliverySummary struct {
	// Status is "delivered" when every endpoint answered 2xx, "failed" when
	// any endpoint exhausted its attempts, otherwise "pending"; "none" when
	// no endpoint wanted the event.
	Status    string             `json:"status"`
	Endpoints []deliveryEndpoint `json:"endpoints"`
}

type deliveryEndpoint struct {
	Endpoint    string `json:"endpoint"`
	URL         string `json:"url"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
	NextAttempt *int64 `json:"next_attempt,omitempty"`
}

func (e *event) objectID() string { return e.ID }
func (e *event) kind() string     { return "event" }

// marshalObject renders o (unexpanded) as JSON; objects here always marshal.
func marshalObject(o any) json.RawMessage {
	b, err := json.Marshal(o)
	if err != nil {
		panic("sandbox: marshal " + err.Error()) // only plain structs reach here
	}
	return b
}

// snapshot is an object's rendering before a change, for previous_attributes.
type snapshot map[string]json.RawMessage

func (s *Sandbox) snap(o any) snapshot {
	var m snapshot
	_ = json.Unmarshal(marshalObject(o), &m)
	return m
}

// diff returns the attributes of before that differ from after, recursing
// into plain nested hashes (invoice_settings, trial_settings) the way Stripe
// reports only the changed sub-keys; lists and objects are reported whole.
func diff(before, after snapshot) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, bv := range before {
		av := after[k]
		if bytes.Equal(bv, av) {
			continue
		}
		var bm, am snapshot
		if json.Unmarshal(bv, &bm) == nil && json.Unmarshal(av, &am) == nil && bm != nil && am != nil {
			if _, isObject := bm["object"]; !isObject {
				out[k] = marshalObject(diff(bm, am))
				continue
			}
		}
		out[k] = bv
	}
	return out
}

// emit records an event of typ about o (rendered now) and queues its
// webhook deliveries. before, when non-nil, yields previous_attributes; an
// update that changed nothing emits nothing.
func (s *Sandbox) emit(t *txn, typ string, o object, before snapshot) {
	data := eventData{Object: marshalObject(o)}
	if before != nil {
		var after snapshot
		_ = json.Unmarshal(data.Object, &after)
		d := diff(before, after)
		if len(d) == 0 {
			return
		}
		data.PreviousAttributes = marshalObject(d)
	}
	// Events must sort in the order they happened even within one second.
	created := max(t.now, s.st.lastEventAt)
	s.st.lastEventAt = created
	e := &event{ID: newID("evt_", 24), Object: "event", APIVersion: APIVersion, Created: created, Data: data,
		Request: eventRequest{ID: t.reqID, IdempotencyKey: t.idemKey}, Type: typ, ObjectID: o.objectID()}
	s.put(t, e)
	t.events = append(t.events, e)
	s.enqueueDeliveries(t, e)
}

func (s *Sandbox) eventView(e *event) *event {
	v := *e
	v.PendingWebhooks = 0
	sum := &deliverySummary{Status: "none"}
	ds := s.st.byEvent[e.ID]
	if len(ds) > 0 {
		sum.Status = "delivered"
	}
	for _, d := range ds {
		de := deliveryEndpoint{Endpoint: d.EndpointID, URL: d.URL, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError}
		if d.Status == deliveryPending {
			n := d.NextAttempt.Unix()
			de.NextAttempt = &n
		}
		sum.Endpoints = append(sum.Endpoints, de)
		if d.Status != deliveryDelivered {
			v.PendingWebhooks++
		}
		switch {
		case d.Status == deliveryFailed:
			sum.Status = deliveryFailed
		case d.Status == deliveryPending && sum.Status != deliveryFailed:
			sum.Status = deliveryPending
		}
	}
	v.Delivery = sum
	return &v
}

// Events API.

var eventListSchema = schema{"created", "created[gt]", "created[gte]", "created[lt]", "created[lte]", "delivery_success",
	"expand[]", "type", "types[]", "limit", "starting_after", "ending_before"}

func (s *Sandbox) listEvents(q *request) (any, *apiError) {
	typ := q.f.str("type")
	types := q.f.strs("types")
	ds, hasDS, err := q.f.bool("delivery_success")
	if err != nil {
		return nil, err
	}
	cf, err := createdFilter(q.f)
	if err != nil {
		return nil, err
	}
	var out []object
	for _, e := range all[*event](s.st, "event") {
		if typ != "" && !matchEventType(typ, e.Type) {
			continue
		}
		if len(types) > 0 {
			ok := false
			for _, tt := range types {
				ok = ok || matchEventType(tt, e.Type)
			}
			if !ok {
				continue
			}
		}
		if !cf(e.Created) {
			continue
		}
		v := s.eventView(e)
		if hasDS {
			delivered := v.Delivery.Status == deliveryDelivered || v.Delivery.Status == "none"
			if delivered != ds {
				continue
			}
		}
		out = append(out, v)
	}
	return s.page(q, "/v1/events", out)
}

// matchEventType supports Stripe's "customer.subscription.*" wildcards.
func matchEventType(pattern, typ string) bool {
	if n := len(pattern); n > 1 && pattern[n-1] == '*' {
		return len(typ) >= n-1 && typ[:n-1] == pattern[:n-1]
	}
	return pattern == typ
}

func (s *Sandbox) retrieveEvent(q *request) (any, *apiError) {
	e, err := byID[*event](s, q, "event")
	if err != nil {
		return nil, err
	}
	return s.eventView(e), nil
}

// createdFilter parses created / created[gt|gte|lt|lte].
func createdFilter(f *form) (func(int64) bool, *apiError) {
	var conds []func(int64) bool
	for _, op := range []string{"", "gt", "gte", "lt", "lte"} {
		key := "created"
		if op != "" {
			key += "[" + op + "]"
		}
		v, ok, err := f.int(key)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		switch op {
		case "":
			conds = append(conds, func(c int64) bool { return c == v })
		case "gt":
			conds = append(conds, func(c int64) bool { return c > v })
		case "gte":
			conds = append(conds, func(c int64) bool { return c >= v })
		case "lt":
			conds = append(conds, func(c int64) bool { return c < v })
		case "lte":
			conds = append(conds, func(c int64) bool { return c <= v })
		}
	}
	return func(c int64) bool {
		for _, cond := range conds {
			if !cond(c) {
				return false
			}
		}
		return true
	}, nil
}
