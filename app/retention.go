package app

import (
	"context"
	"time"

	"github.com/portal/portal/billing/sandbox"
	"github.com/portal/portal/store"
)

// DefaultRetain is how long history is kept: processed webhook events,
// audit entries and mailed notices.
const DefaultRetain = 90 * 24 * time.Hour

// pruneEvery is how often the retention job runs. Each run removes what
// aged out since the last, in small transactions (store.Prune).
const pruneEvery = time.Hour

// runRetention prunes history older than Retain, and the sandbox's
// idempotency keys older than 24 hours, at start and then every hour,
// until ctx ends.
func (a *App) runRetention(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		a.pruneOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *App) pruneOnce(ctx context.Context) {
	now := a.cfg.Now()
	start := time.Now()
	res, err := a.store.Prune(ctx, now.Add(-a.cfg.Retain), store.DefaultPruneBatch)
	if err != nil && ctx.Err() == nil {
		a.log.Error("retention: pruning failed; next try in an hour", "err", err)
	}
	if res != (store.PruneResult{}) {
		a.log.Info("retention: pruned", "events", res.Events, "audit", res.Audit, "notices", res.Notices,
			"links", res.Links, "older_than", now.Add(-a.cfg.Retain).Format(time.DateOnly),
			"duration", time.Since(start).Round(time.Millisecond).String())
	}
	if a.sandbox != nil {
		n, err := a.sandbox.PruneIdempotencyKeys(now.Add(-sandbox.IdempotencyKeyTTL))
		if err != nil {
			a.log.Error("retention: sandbox idempotency keys", "err", err)
		} else if n > 0 {
			a.log.Info("retention: sandbox idempotency keys pruned", "keys", n)
		}
	}
}
