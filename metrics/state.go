package metrics

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/portal/portal/store"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

// State is what the portal's stored state looks like, read on each scrape.
type State struct {
	// Store is the portal's store, either engine: account counts, the
	// trial-end index and the outbox. The engine's own figures are
	// collected when it has them: bbolt's Stats (EngineStats) or pgxpool's
	// Stat (PoolStat).
	Store interface {
		AccountCounts() ([]store.AccountCount, error)
		TrialsEndingBetween(from, to time.Time) (int, error)
		Outbox() ([]store.Notice, error)
	}
	// MRR turns the counts into monthly recurring revenue by currency, in
	// minor units (billing.MRR with the catalog).
	MRR func([]store.AccountCount) map[string]int64
	// Now is the billing clock (the sandbox's when offline): trials end by it.
	Now func() time.Time
}

// WatchState registers a collector that reads s on each scrape. Reads are
// of small buckets (counts, indexes), never of every account.
func (m *Metrics) WatchState(s State) {
	m.reg.MustRegister(&stateCollector{s: s})
}

var (
	descAccounts = prometheus.NewDesc("portal_accounts",
		"Accounts by access state and plan (state \"none\" and plan \"none\": registered, no plan chosen).",
		[]string{"state", "plan"}, nil)
	descTrialsEnding = prometheus.NewDesc("portal_trials_ending_3d",
		"Trials ending in the next 3 days.", nil, nil)
	descMRR = prometheus.NewDesc("portal_mrr_minor_units",
		"Monthly recurring revenue in minor units of the currency (cents for usd): subscriptions active or past due.",
		[]string{"currency"}, nil)
	descOutbox = prometheus.NewDesc("portal_mail_queued",
		"Notices waiting in the outbox to be mailed (including retries).", nil, nil)
	descScrapeErr = prometheus.NewDesc("portal_state_scrape_errors",
		"1 when reading the store for this scrape failed (the figures above are missing).", nil, nil)
	descBoltFree = prometheus.NewDesc("portal_store_bbolt_free_pages",
		"bbolt pages on the freelist.", nil, nil)
	descBoltPending = prometheus.NewDesc("portal_store_bbolt_pending_pages",
		"bbolt pages pending release once older read transactions end.", nil, nil)
	descBoltFreeBytes = prometheus.NewDesc("portal_store_bbolt_free_alloc_bytes",
		"bbolt bytes allocated in free pages.", nil, nil)
	descBoltReadTx = prometheus.NewDesc("portal_store_bbolt_read_tx_total",
		"bbolt read transactions started.", nil, nil)
	descBoltOpenReadTx = prometheus.NewDesc("portal_store_bbolt_open_read_tx",
		"bbolt read transactions open now.", nil, nil)
	descBoltWrites = prometheus.NewDesc("portal_store_bbolt_writes_total",
		"bbolt page writes to disk.", nil, nil)
	descBoltWriteTime = prometheus.NewDesc("portal_store_bbolt_write_seconds_total",
		"Time bbolt spent writing pages to disk.", nil, nil)

	descPoolConns = prometheus.NewDesc("portal_store_pg_pool_connections",
		"PostgreSQL pool connections by state: acquired (in use), idle, constructing.", []string{"state"}, nil)
	descPoolMax = prometheus.NewDesc("portal_store_pg_pool_max_connections",
		"The PostgreSQL pool's maximum size.", nil, nil)
	descPoolAcquires = prometheus.NewDesc("portal_store_pg_pool_acquires_total",
		"Connections acquired from the PostgreSQL pool.", nil, nil)
	descPoolEmptyAcquires = prometheus.NewDesc("portal_store_pg_pool_empty_acquires_total",
		"Acquires that had to wait for a connection (the pool had none idle): a pool too small.", nil, nil)
	descPoolCanceled = prometheus.NewDesc("portal_store_pg_pool_canceled_acquires_total",
		"Acquires given up because their context ended.", nil, nil)
	descPoolAcquireTime = prometheus.NewDesc("portal_store_pg_pool_acquire_seconds_total",
		"Time spent acquiring connections from the PostgreSQL pool.", nil, nil)
)

// The engines' own figures; a store has one of them.
type (
	boltStats interface{ EngineStats() bolt.Stats }
	poolStats interface{ PoolStat() *pgxpool.Stat }
)

type stateCollector struct{ s State }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccounts, descTrialsEnding, descMRR, descOutbox, descScrapeErr,
		descBoltFree, descBoltPending, descBoltFreeBytes, descBoltReadTx, descBoltOpenReadTx, descBoltWrites, descBoltWriteTime,
		descPoolConns, descPoolMax, descPoolAcquires, descPoolEmptyAcquires, descPoolCanceled, descPoolAcquireTime} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	failed := 0.0
	if counts, err := c.s.Store.AccountCounts(); err != nil {
		failed = 1
	} else {
		type sp struct{ state, plan string }
		byStatePlan := map[sp]int{}
		for _, n := range counts {
			k := sp{string(n.State), n.Plan}
			if k.state == "" {
				k.state = "none"
			}
			if k.plan == "" {
				k.plan = "none"
			}
			byStatePlan[k] += n.N
		}
		for k, n := range byStatePlan {
			ch <- prometheus.MustNewConstMetric(descAccounts, prometheus.GaugeValue, float64(n), k.state, k.plan)
		}
		if c.s.MRR != nil {
			for cur, v := range c.s.MRR(counts) {
				ch <- prometheus.MustNewConstMetric(descMRR, prometheus.GaugeValue, float64(v), cur)
			}
		}
	}
	now := c.s.Now()
	if n, err := c.s.Store.TrialsEndingBetween(now, now.Add(3*24*time.Hour)); err != nil {
		failed = 1
	} else {
		ch <- prometheus.MustNewConstMetric(descTrialsEnding, prometheus.GaugeValue, float64(n))
	}
	if out, err := c.s.Store.Outbox(); err != nil {
		failed = 1
	} else {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(len(out)))
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, failed)

	switch e := c.s.Store.(type) {
	case boltStats:
		collectBolt(ch, e.EngineStats())
	case poolStats:
		collectPool(ch, e.PoolStat())
	}
}

func collectPool(ch chan<- prometheus.Metric, st *pgxpool.Stat) {
	ch <- prometheus.MustNewConstMetric(descPoolConns, prometheus.GaugeValue, float64(st.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(descPoolConns, prometheus.GaugeValue, float64(st.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(descPoolConns, prometheus.GaugeValue, float64(st.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(descPoolMax, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(descPoolAcquires, prometheus.CounterValue, float64(st.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(descPoolEmptyAcquires, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(descPoolCanceled, prometheus.CounterValue, float64(st.CanceledAcquireCount()))
	ch <- prometheus.MustNewConstMetric(descPoolAcquireTime, prometheus.CounterValue, st.AcquireDuration().Seconds())
}

func collectBolt(ch chan<- prometheus.Metric, st bolt.Stats) {
	ch <- prometheus.MustNewConstMetric(descBoltFree, prometheus.GaugeValue, float64(st.FreePageN))
	ch <- prometheus.MustNewConstMetric(descBoltPending, prometheus.GaugeValue, float64(st.PendingPageN))
	ch <- prometheus.MustNewConstMetric(descBoltFreeBytes, prometheus.GaugeValue, float64(st.FreeAlloc))
	ch <- prometheus.MustNewConstMetric(descBoltReadTx, prometheus.CounterValue, float64(st.TxN))
	ch <- prometheus.MustNewConstMetric(descBoltOpenReadTx, prometheus.GaugeValue, float64(st.OpenTxN))
	ch <- prometheus.MustNewConstMetric(descBoltWrites, prometheus.CounterValue, float64(st.TxStats.GetWrite()))
	ch <- prometheus.MustNewConstMetric(descBoltWriteTime, prometheus.CounterValue, st.TxStats.GetWriteTime().Seconds())
}
