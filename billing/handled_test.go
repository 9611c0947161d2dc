package billing

import (
	"context"
	"slices"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// Every type the endpoint subscribes to (HandledEvents, what stripe-setup
// asks Stripe for) reaches a handler, and nothing else does: a type outside
// the list is ignored as unhandled and answered 200.
func TestHandledEventsAreDispatched(t *testing.T) {
	env := newWebhookEnv(t, newFakeStripe(), true)
	for _, typ := range append(HandledEvents, "customer.source.created", "invoice.upcoming") {
		out, err := env.svc.dispatch(context.Background(), &stripe.Event{Type: stripe.EventType(typ)}, eventObject{})
		if err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		handled := out.ignore != ignoreUnhandled
		if want := slices.Contains(HandledEvents, typ); handled != want {
			t.Errorf("%s: dispatched %t, in HandledEvents %t", typ, handled, want)
		}
	}
	if code := deliver(t, env.h, testEvent{ID: "evt_unknown", Type: "invoice.upcoming", Obj: map[string]any{"id": "in_1", "object": "invoice"}}); code != 200 {
		t.Errorf("an unknown type got %d, want 200", code)
	}
}
