package ops

import (
	"context"
	"errors"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// Billing is what the ops actions need from the billing service;
// *billing.Service satisfies it. Every account action goes through it, so an
// admin changes an account exactly the way the customer's own actions do.
type Billing interface {
	ExtendTrial(ctx context.Context, accountID string, days int) (store.Account, error)
	Resync(ctx context.Context, accountID string) (store.Account, error)
	ChoosePlan(ctx context.Context, accountID, planID string) (store.Account, error)
	CancelAtPeriodEnd(ctx context.Context, accountID string) (store.Account, error)
	CancelSecondSubscription(ctx context.Context, accountID string, credit bool) (store.Account, error)
}

// Clock is the sandbox's movable clock (*sandbox.Sandbox satisfies it). It
// only moves forward.
type Clock interface {
	Now() time.Time
	Advance(ctx context.Context, d time.Duration) error
}

// Admins reports whether a key fingerprint is an admin's (*adminkeys.Keys
// satisfies it).
type Admins interface {
	IsAdmin(fingerprint string) bool
}

// Config is what the ops view needs.
type Config struct {
	Store   store.Store     // required
	Billing Billing         // required
	Catalog billing.Catalog // prices for revenue and the plans an admin can pick
	// Clock is the sandbox clock; nil in live mode, which hides the clock
	// screen.
	Clock Clock
	// Admins is asked again before every action, so removing a key from the
	// admin file stops an already open session from acting. Nil skips the
	// re-check (the caller's own gate still applies).
	Admins Admins
	Logger *slog.Logger
	// Now is the billing clock the views compare trial and period times
	// with (countdowns, "ending within 3 days"); default: Clock.Now when
	// there is a Clock, else time.Now. It never stamps what happens in the
	// portal (audit entries): the store's wall clock does.
	Now func() time.Time
	// ActionTimeout bounds one confirmed action (Stripe calls included);
	// default 30s.
	ActionTimeout time.Duration
}

// Ops is the ops view shared by every admin session: one in-memory accounts
// index fed by the store's change feed, and the models built on it.
type Ops struct {
	cfg Config
	log *slog.Logger
	idx *index
	// tick schedules a screen's next poll; tea.Tick, replaced in tests that
	// drive models by hand and must not wait for timers.
	tick func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd
}

// New checks cfg and returns the ops view. It starts nothing: call Run to
// fill and follow the accounts index (until then the table says "Loading").
func New(cfg Config) (*Ops, error) {
	if cfg.Store == nil {
		return nil, errors.New("ops: Config.Store is required")
	}
	if cfg.Billing == nil {
		return nil, errors.New("ops: Config.Billing is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
		if cfg.Clock != nil {
			cfg.Now = cfg.Clock.Now
		}
	}
	if cfg.ActionTimeout == 0 {
		cfg.ActionTimeout = 30 * time.Second
	}
	rank := map[string]int{}
	for i, p := range cfg.Catalog.Plans() {
		rank[p.ID] = i
	}
	return &Ops{cfg: cfg, log: cfg.Logger.With("component", "ops"), idx: newIndex(rank), tick: tea.Tick}, nil
}

// Model returns the ops view for one admin session. The caller decides who
// is an admin (sshserver.Config.Admins); when Config.Admins is set, Model checks
// again and a session whose key it does not accept gets a refusal screen
// that only quits.
func (o *Ops) Model(c *common.Common) tea.Model {
	if o.cfg.Admins != nil && !o.cfg.Admins.IsAdmin(c.Identity.Fingerprint) {
		o.log.Warn("ops view refused: not an admin key", "key", c.Identity.Fingerprint)
		return deniedModel{}
	}
	return newModel(o, c)
}

// Run loads every account into the index and then follows the store's
// change feed until ctx ends or the store closes. It subscribes before the
// first load, so no change between the two is lost; a feed overflow
// (Change.Resync) reloads everything, off the lock that queries take.
func (o *Ops) Run(ctx context.Context) {
	sub := o.cfg.Store.Subscribe("")
	defer sub.Close()
	var retry <-chan time.Time
	if err := o.reload(); err != nil {
		o.log.Error("load accounts", "err", err)
		retry = time.After(5 * time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry:
			retry = nil
			if err := o.reload(); err != nil {
				o.log.Error("load accounts", "err", err)
				retry = time.After(5 * time.Second)
			}
		case ch, ok := <-sub.C():
			if !ok {
				return
			}
			ids, resync, open := drain(sub, ch)
			var err error
			if resync {
				err = o.reload()
			} else {
				err = o.refresh(ids)
			}
			if err != nil {
				o.log.Error("refresh accounts", "err", err)
				retry = time.After(5 * time.Second)
			}
			if !open {
				return
			}
		}
	}
}

// maxBatch bounds how many changes one index update takes in, so a burst of
// writes is applied in a few large steps instead of one lock per change.
const maxBatch = 1024

// drain collects first and whatever else is already waiting on the feed.
func drain(sub *store.Subscription, first store.Change) (ids map[string]struct{}, resync, open bool) {
	ids = map[string]struct{}{}
	add := func(ch store.Change) {
		if ch.Resync || ch.AccountID == "" {
			resync = true
			return
		}
		ids[ch.AccountID] = struct{}{}
	}
	add(first)
	for len(ids) < maxBatch && !resync {
		select {
		case ch, ok := <-sub.C():
			if !ok {
				return ids, resync, false
			}
			add(ch)
		default:
			return ids, resync, true
		}
	}
	return ids, resync, true
}

func (o *Ops) reload() error {
	var accts []store.Account
	err := o.cfg.Store.ForEachAccount(func(a store.Account) bool {
		accts = append(accts, a)
		return true
	})
	if err != nil {
		return err
	}
	o.idx.reset(accts)
	return nil
}

func (o *Ops) refresh(ids map[string]struct{}) error {
	var changed []store.Account
	var gone []string
	for id := range ids {
		a, err := o.cfg.Store.Account(id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			gone = append(gone, id)
		case err != nil:
			o.idx.apply(changed, gone)
			return err
		default:
			changed = append(changed, a)
		}
	}
	o.idx.apply(changed, gone)
	return nil
}

// redrawEvery is the shortest gap between two live redraws of one admin
// session: a burst of store writes becomes one redraw, not one per write.
const redrawEvery = 250 * time.Millisecond

// indexChangedMsg says the accounts index moved past the generation the
// model last showed.
type indexChangedMsg struct{ gen uint64 }

// waitChange returns a command that delivers indexChangedMsg once the index
// moves past seen, no sooner than redrawEvery, or nil when ctx ends.
func (o *Ops) waitChange(ctx context.Context, seen uint64) tea.Cmd {
	return func() tea.Msg {
		gen, ch := o.idx.watch()
		if gen == seen {
			select {
			case <-ch:
			case <-ctx.Done():
				return nil
			}
		}
		t := time.NewTimer(redrawEvery)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
		gen, _ = o.idx.watch()
		return indexChangedMsg{gen: gen}
	}
}
