package tui

import (
	"context"
	"sync"
	"testing"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// ctxBilling is fakeBilling recording whether each write's context was
// still usable (not canceled, with a deadline) when billing got it.
type ctxBilling struct {
	*fakeBilling
	mu  sync.Mutex
	bad []string
}

func (c *ctxBilling) check(call string, ctx context.Context) {
	_, hasDeadline := ctx.Deadline()
	if ctx.Err() != nil || !hasDeadline {
		c.mu.Lock()
		c.bad = append(c.bad, call)
		c.mu.Unlock()
	}
}

func (c *ctxBilling) CancelAtPeriodEnd(ctx context.Context, id string) (store.Account, error) {
	c.check("CancelAtPeriodEnd", ctx)
	return c.fakeBilling.CancelAtPeriodEnd(ctx, id)
}

func (c *ctxBilling) UndoCancel(ctx context.Context, id string) (store.Account, error) {
	c.check("UndoCancel", ctx)
	return c.fakeBilling.UndoCancel(ctx, id)
}

func (c *ctxBilling) CardLink(ctx context.Context, id string) (billing.Link, error) {
	c.check("CardLink", ctx)
	return c.fakeBilling.CardLink(ctx, id)
}

// A customer's billing action outlives the SSH connection: with the
// session's context gone (the connection dropped), the Stripe write still
// gets a live context, bounded by a timeout.
func TestCustomerActionsOutliveTheSession(t *testing.T) {
	h := newHarness(t, 100, 30)
	ctx, cancel := context.WithCancel(context.Background())
	h.e.Ctx = ctx
	cb := &ctxBilling{fakeBilling: h.fb}
	h.e.billing = cb
	a := activeAccount()
	h.fb.account = a
	h.load(a)
	cancel() // the connection drops as the customer confirms
	h.keys("x", "y")
	canceling := cancelingAccount()
	h.fb.account = canceling
	h.load(canceling)
	h.keys("u")
	h.load(a)
	h.keys("c")
	if got := h.fb.calls; len(got) != 3 {
		t.Fatalf("billing calls %v, want CancelAtPeriodEnd, UndoCancel, CardLink", got)
	}
	if len(cb.bad) > 0 {
		t.Errorf("actions given the dropped session's context (or no deadline): %v", cb.bad)
	}
}
