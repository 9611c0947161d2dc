package metrics_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/portal/portal/metrics"
	"github.com/portal/portal/store"
	"github.com/portal/portal/store/postgres"
	"github.com/portal/portal/store/postgres/pgtest"
)

// The state gauges read the same figures from either engine, and each
// engine's own figures are collected.
func TestStateGaugesOnBothEngines(t *testing.T) {
	engines := []struct {
		name   string
		open   func(t *testing.T) store.Store
		engine []string // metrics only this engine has
	}{
		{"bbolt", func(t *testing.T) store.Store {
			db, err := store.Open(filepath.Join(t.TempDir(), "portal.db"), store.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}, []string{"portal_store_bbolt_free_pages", "portal_store_bbolt_read_tx_total"}},
		{"postgres", func(t *testing.T) store.Store {
			db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}, []string{"portal_store_pg_pool_connections", "portal_store_pg_pool_max_connections", "portal_store_pg_pool_acquires_total"}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t)
			t.Cleanup(func() { _ = s.Close() })
			now := time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
			var ids []string
			for i, email := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
				a, err := s.CreateAccount(email, store.Key{Fingerprint: "SHA256:" + email, PublicKey: "ssh-ed25519 AAAA" + string(rune('a'+i))})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, a.ID)
			}
			set := func(id string, fn func(*store.Account)) {
				t.Helper()
				if _, err := s.UpdateAccount(id, func(a *store.Account) error { fn(a); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			set(ids[0], func(a *store.Account) {
				a.Plan, a.State, a.SubscriptionStatus, a.TrialEnd = "s", store.StateTrial, "trialing", now.Add(48*time.Hour)
			})
			set(ids[1], func(a *store.Account) {
				a.Plan, a.State, a.SubscriptionStatus, a.TrialEnd = "s", store.StateTrial, "trialing", now.Add(5*24*time.Hour)
			})
			set(ids[2], func(a *store.Account) { a.Plan, a.State = "free", store.StateFree })
			if _, _, err := s.AddNotice(store.Notice{AccountID: ids[0], Kind: "trial_will_end", Key: "k", Message: "m"}); err != nil {
				t.Fatal(err)
			}

			m := metrics.New()
			m.WatchState(metrics.State{Store: s, Now: func() time.Time { return now }})
			fams, err := m.Registry().Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, f := range fams {
				got[f.GetName()] = true
			}
			for _, name := range e.engine {
				if !got[name] {
					t.Errorf("%s missing", name)
				}
			}
			for _, c := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"portal_accounts", []string{"s", "trial"}, 2},
				{"portal_accounts", []string{"free", "free"}, 1},
				{"portal_accounts", []string{"none", "none"}, 1},
				{"portal_trials_ending_3d", nil, 1},
				{"portal_mail_queued", nil, 1},
				{"portal_state_scrape_errors", nil, 0},
			} {
				if v := gaugeValue(t, m, c.name, c.labels...); v != c.want {
					t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
				}
			}
		})
	}
}

// gaugeValue is the value of the series of name whose label values are
// labels, in label-name order (plan before state); -1 when there is none.
func gaugeValue(t *testing.T, m *metrics.Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, mt := range f.Metric {
			if len(mt.Label) != len(labels) {
				continue
			}
			for i, lp := range mt.Label {
				if lp.GetValue() != labels[i] {
					continue next
				}
			}
			return mt.GetGauge().GetValue()
		}
	}
	return -1
}
