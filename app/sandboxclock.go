package app

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portal/portal/billing/sandbox"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// sandboxClock is the clock of a sandbox that runs on its own (`portal
// sandbox`), for the instances that use it: one sandbox, one clock. It
// follows the sandbox's test clock (polled every clockPoll) as an offset
// from the wall clock, so trial countdowns agree with the sandbox after it
// is advanced, and it advances that clock for the ops view.
type sandboxClock struct {
	api    *client.API
	base   func() time.Time
	offset atomic.Int64 // nanoseconds
	onMove func()
}

const clockPoll = 2 * time.Second

// probeSandboxClock returns the clock of the sandbox at cfg.APIBase, or nil
// when the API there has no sandbox clock (Stripe, stripe-mock).
func probeSandboxClock(api *client.API, cfg StripeConfig, base func() time.Time) *sandboxClock {
	if cfg.APIBase == "" || !strings.HasPrefix(cfg.SecretKey, "sk_test_") {
		return nil
	}
	c := &sandboxClock{api: api, base: base}
	if !c.refresh() {
		return nil
	}
	return c
}

// Now is the sandbox's time.
func (c *sandboxClock) Now() time.Time { return c.base().Add(time.Duration(c.offset.Load())) }

// Advance moves the sandbox's clock forward by d (what fell due plays out
// there, its webhooks reach the instances).
func (c *sandboxClock) Advance(ctx context.Context, d time.Duration) error {
	p := &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(c.Now().Add(d).Unix())}
	p.Context = ctx
	if _, err := c.api.TestHelpersTestClocks.Advance(sandbox.ClockID, p); err != nil {
		return err
	}
	c.refresh()
	return nil
}

// refresh reads the sandbox's clock; it reports whether it could. The clock
// reads in whole seconds, so the offset moves only when it changed by more
// than two: a move of the clock, not rounding.
func (c *sandboxClock) refresh() bool {
	clk, err := c.api.TestHelpersTestClocks.Get(sandbox.ClockID, nil)
	if err != nil {
		return false
	}
	off := time.Unix(clk.FrozenTime, 0).Sub(c.base())
	if d := off - time.Duration(c.offset.Load()); d > 2*time.Second || d < -2*time.Second {
		c.offset.Store(int64(off))
		if c.onMove != nil {
			c.onMove()
		}
	}
	return true
}

// run follows the sandbox's clock until ctx ends.
func (c *sandboxClock) run(ctx context.Context) {
	t := time.NewTicker(clockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.refresh()
		}
	}
}
