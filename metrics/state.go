package metrics

import (
	"time"

	"github.com/portal/portal/store"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

// State is what the portal's stored state looks like, read on each scrape.
type State struct {
	// Store is the portal's store: running account counts, the trial-end
	// index, the outbox and the engine's figures.
	Store interface {
		AccountCounts() ([]store.AccountCount, error)
		TrialsEndingBetween(from, to time.Time) (int, error)
		Outbox() ([]store.Notice, error)
		EngineStats() bolt.Stats
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
)

type stateCollector struct{ s State }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccounts, descTrialsEnding, descMRR, descOutbox, descScrapeErr,
		descBoltFree, descBoltPending, descBoltFreeBytes, descBoltReadTx, descBoltOpenReadTx, descBoltWrites, descBoltWriteTime} {
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

	st := c.s.Store.EngineStats()
	ch <- prometheus.MustNewConstMetric(descBoltFree, prometheus.GaugeValue, float64(st.FreePageN))
	ch <- prometheus.MustNewConstMetric(descBoltPending, prometheus.GaugeValue, float64(st.PendingPageN))
	ch <- prometheus.MustNewConstMetric(descBoltFreeBytes, prometheus.GaugeValue, float64(st.FreeAlloc))
	ch <- prometheus.MustNewConstMetric(descBoltReadTx, prometheus.CounterValue, float64(st.TxN))
	ch <- prometheus.MustNewConstMetric(descBoltOpenReadTx, prometheus.GaugeValue, float64(st.OpenTxN))
	ch <- prometheus.MustNewConstMetric(descBoltWrites, prometheus.CounterValue, float64(st.TxStats.GetWrite()))
	ch <- prometheus.MustNewConstMetric(descBoltWriteTime, prometheus.CounterValue, st.TxStats.GetWriteTime().Seconds())
}
