package app

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/portal/portal/hostkeys"
	"github.com/portal/portal/leader"
	"github.com/portal/portal/store"
	"github.com/portal/portal/store/postgres"
)

// Several instances. With Config.DatabaseURL the portal keeps its state in
// PostgreSQL, where any number of instances behind a TCP load balancer share
// it: the store's feed redraws a session on one instance when a webhook
// lands on another, and the jobs that must run once (the reconciler, the
// mail sender, the feed's pruning) run on whichever instance holds their
// lock. Without it, bbolt in the data directory, and this instance runs
// every job.

// feedKeep is how long the PostgreSQL feed keeps its entries: a session
// resuming from an older one re-reads everything it shows.
const feedKeep = 24 * time.Hour

// portalStore is what the app needs of either engine: the store, its health
// check and its transaction timings.
type portalStore interface {
	store.Store
	Ping(context.Context) error
	SetTxObserver(store.TxObserver)
}

var _ portalStore = (*postgres.DB)(nil)

// openStore opens the store the configuration names and the elector that
// goes with it.
func openStore(cfg Config) (portalStore, leader.Elector, error) {
	if cfg.DatabaseURL == "" {
		db, err := store.Open(filepath.Join(cfg.DataDir, "portal.db"), store.Options{Timeout: time.Second, Now: cfg.Now})
		if err != nil {
			return nil, nil, err
		}
		return db, leader.Local{}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Now: cfg.Now, Logger: cfg.Logger.With("component", "store")})
	if err != nil {
		return nil, nil, err
	}
	if cfg.Stripe.Sandboxed() {
		cfg.Logger.Warn("PostgreSQL store with the embedded sandbox: each instance has its own sandbox; for several instances run `portal sandbox` and set STRIPE_API_BASE")
	}
	return db, db.Elector(), nil
}

// loadHostKey returns the SSH host key: from PEM in the environment, from a
// file, or the data directory's own (created on first start). Several
// instances must present one key, so with a database URL the data
// directory's key is refused unless AllowGeneratedHostKey says this is the
// only instance.
func loadHostKey(cfg Config) (hostkeys.Key, error) {
	switch {
	case cfg.HostKeyPEM != "":
		return hostkeys.Parse([]byte(cfg.HostKeyPEM), "PORTAL_HOST_KEY")
	case cfg.HostKeyPath != "":
		return hostkeys.Load(cfg.HostKeyPath)
	case cfg.DatabaseURL != "" && !cfg.AllowGeneratedHostKey:
		return hostkeys.Key{}, errors.New("with -database-url every instance must present the same SSH host key: " +
			"give it with -host-key FILE (PORTAL_HOST_KEY_FILE) or PEM in PORTAL_HOST_KEY " +
			"(make one with `ssh-keygen -t ed25519 -N '' -f FILE`), or pass -allow-generated-host-key to run one instance on its own key")
	}
	return hostkeys.LoadOrCreate(cfg.DataDir)
}

// everywhere returns the background work every instance runs.
func (a *App) everywhere() []func(context.Context) {
	run := []func(context.Context){a.ui.Run, a.ops.Run}
	if a.sandboxClock != nil {
		run = append(run, a.sandboxClock.run)
	}
	return run
}

// jobs returns the background work that runs on one instance at a time,
// each under the elector.
func (a *App) jobs() []func(context.Context) {
	elect := func(name string, job func(context.Context)) func(context.Context) {
		return func(ctx context.Context) { a.elector.Run(ctx, name, job) }
	}
	jobs := []func(context.Context){
		elect("mailer", a.mailer.Run),
		elect("retention", a.runRetention),
		elect("link-sweep", func(ctx context.Context) { a.billing.RunLinkSweep(ctx, 0) }),
		elect("reconciler", func(ctx context.Context) {
			a.billing.RunReconciler(ctx, a.cfg.ReconcileEvery, a.cfg.ReconcileStale)
		}),
	}
	if pg, ok := a.store.(*postgres.DB); ok {
		jobs = append(jobs, elect("feed-prune", func(ctx context.Context) {
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				if n, err := pg.PruneFeed(ctx, feedKeep); err != nil {
					a.log.Warn("feed prune", "err", err)
				} else if n > 0 {
					a.log.Info("feed pruned", "entries", n)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}))
	}
	return jobs
}

// Leading reports whether this instance runs the named job now ("mailer",
// "retention", "link-sweep", "reconciler", "feed-prune"); always true on
// bbolt.
func (a *App) Leading(job string) bool {
	if e, ok := a.elector.(*postgres.Elector); ok {
		return e.Leading(job)
	}
	return true
}
