package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

func testPlanRank() map[string]int {
	rank := map[string]int{}
	for i, p := range billing.DefaultCatalog().Plans() {
		rank[p.ID] = i
	}
	return rank
}

var testPlans = []string{"", "free", "s", "m", "xl", "xxl"}

// genAccount is a deterministic, varied account number i (version v).
func genAccount(rng *rand.Rand, i int, v uint64) store.Account {
	a := store.Account{
		ID:      fmt.Sprintf("acc_%016x", i),
		Email:   fmt.Sprintf("user%06d@%s.example", rng.IntN(1_000_000), []string{"alpha", "beta", "Gamma"}[rng.IntN(3)]),
		Keys:    []store.Key{{Fingerprint: fmt.Sprintf("SHA256:key%040d", i)}},
		Plan:    testPlans[rng.IntN(len(testPlans))],
		State:   stateOrder[rng.IntN(len(stateOrder))],
		HasCard: rng.IntN(2) == 0,
		Version: v,
	}
	if rng.IntN(3) > 0 {
		a.TrialEnd = testNow.Add(time.Duration(rng.IntN(60*24)-30*24) * time.Hour)
		a.TrialUsed = true
	}
	if rng.IntN(4) > 0 {
		a.CustomerID = fmt.Sprintf("cus_%014d", rng.IntN(1e9))
		a.SubscriptionID = fmt.Sprintf("sub_%024d", rng.IntN(1e9))
		a.LastSyncAt = testNow.Add(-time.Duration(rng.IntN(1e6)) * time.Second)
	}
	return a
}

// bruteForce answers q by filtering and sorting everything from scratch.
func bruteForce(accts map[string]store.Account, rank map[string]int, q query) (page []string, total int) {
	var rows []*row
	needle := strings.ToLower(strings.TrimSpace(q.search))
	for _, a := range accts {
		if q.states != nil && !slices.Contains(q.states, a.State) {
			continue
		}
		if q.plans != nil && !slices.Contains(q.plans, a.Plan) {
			continue
		}
		if needle != "" {
			hit := strings.Contains(strings.ToLower(a.Email), needle) || strings.Contains(strings.ToLower(a.ID), needle) ||
				strings.Contains(strings.ToLower(a.CustomerID), needle) || strings.Contains(strings.ToLower(a.SubscriptionID), needle)
			for _, k := range a.Keys {
				hit = hit || strings.Contains(strings.ToLower(k.Fingerprint), needle)
			}
			if !hit {
				continue
			}
		}
		rows = append(rows, newRow(a, rank))
	}
	slices.SortFunc(rows, func(a, b *row) int {
		if q.desc {
			a, b = b, a
		}
		return compare(q.sort, a, b)
	})
	for i := q.offset; i < min(q.offset+q.limit, len(rows)); i++ {
		page = append(page, rows[i].id)
	}
	return page, len(rows)
}

func ids(rows []row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.id)
	}
	return out
}

// TestIndexMatchesBruteForce loads, then applies random updates and
// removals, and checks many queries against a from-scratch answer: the
// incrementally kept orders must stay exactly sorted.
func TestIndexMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rank := testPlanRank()
	ix := newIndex(rank)
	accts := map[string]store.Account{}
	var all []store.Account
	for i := range 600 {
		a := genAccount(rng, i, 1)
		accts[a.ID] = a
		all = append(all, a)
	}
	ix.reset(all)

	check := func(stage string) {
		t.Helper()
		queries := []query{{limit: 25}}
		for col := range numColumns {
			queries = append(queries, query{sort: col, limit: 30, offset: 7}, query{sort: col, desc: true, limit: 30, offset: 90})
		}
		for _, st := range stateOrder {
			queries = append(queries, query{sort: colTrialEnd, states: []store.State{st}, limit: 10})
		}
		for _, p := range testPlans {
			queries = append(queries, query{sort: colLastSync, desc: true, plans: []string{p}, limit: 10, offset: 3})
		}
		for _, s := range []string{"GAMMA", " beta ", "user00", "cus_0", "sub_", "acc_00000000000000a", "sha256:key000", "nomatch"} {
			queries = append(queries, query{sort: colEmail, search: s, limit: 15, offset: 2})
		}
		queries = append(queries,
			query{sort: colPlan, states: []store.State{store.StateTrial}, plans: []string{"m"}, search: "alpha", limit: 50},
			query{sort: colCard, limit: 10, offset: 10_000})
		for _, q := range queries {
			got := ix.run(q)
			want, total := bruteForce(accts, rank, q)
			if got.total != total || !slices.Equal(ids(got.rows), want) || got.size != len(accts) {
				t.Fatalf("%s: query %+v:\n got total %d %v\nwant total %d %v", stage, q, got.total, ids(got.rows), total, want)
			}
		}
	}
	check("after load")

	for round := range 5 {
		// Like Run's refresh: each touched id is read once, as it is now.
		touched := map[string]bool{}
		for range 80 {
			id := fmt.Sprintf("acc_%016x", rng.IntN(700)) // some new, most existing
			touched[id] = true
			switch old, ok := accts[id]; {
			case ok && rng.IntN(5) == 0:
				delete(accts, id)
			case ok:
				a := genAccount(rng, 0, old.Version+1)
				a.ID, a.Keys = id, old.Keys
				accts[id] = a
			default:
				var n int
				_, _ = fmt.Sscanf(id, "acc_%x", &n)
				accts[id] = genAccount(rng, n, 1)
			}
		}
		var changed []store.Account
		var gone []string
		for id := range touched {
			if a, ok := accts[id]; ok {
				changed = append(changed, a)
			} else {
				gone = append(gone, id)
			}
		}
		ix.apply(changed, gone)
		for _, id := range gone {
			if _, ok := ix.get(id); ok {
				t.Fatalf("round %d: %s still in the index after removal", round, id)
			}
		}
		check(fmt.Sprintf("after round %d", round))
	}
}

func TestIndexIgnoresStaleVersion(t *testing.T) {
	ix := newIndex(testPlanRank())
	a := store.Account{ID: "acc_1", Email: "new@example.com", Plan: "m", Version: 5}
	ix.reset([]store.Account{a})
	stale := a
	stale.Email, stale.Version = "old@example.com", 4
	ix.apply([]store.Account{stale}, nil)
	if r, _ := ix.get("acc_1"); r.email != "new@example.com" {
		t.Fatalf("stale read replaced a newer one: %q", r.email)
	}
	if res := ix.run(query{search: "old@", limit: 10}); res.total != 0 {
		t.Fatalf("stale row left in an order: %+v", res.rows)
	}
	if res := ix.run(query{limit: 10}); res.total != 1 {
		t.Fatalf("total = %d, want 1", res.total)
	}
}

func TestIndexWatchSignalsEachBatch(t *testing.T) {
	ix := newIndex(testPlanRank())
	gen0, ch := ix.watch()
	select {
	case <-ch:
		t.Fatal("signalled before any change")
	default:
	}
	ix.reset(nil)
	select {
	case <-ch:
	default:
		t.Fatal("reset did not signal")
	}
	gen1, ch := ix.watch()
	if gen1 == gen0 {
		t.Fatal("generation did not move")
	}
	ix.apply(nil, nil) // nothing changed: no signal
	select {
	case <-ch:
		t.Fatal("empty batch signalled")
	default:
	}
	ix.apply([]store.Account{{ID: "acc_1", Email: "a@example.com", Version: 1}}, nil)
	select {
	case <-ch:
	default:
		t.Fatal("apply did not signal")
	}
}

func TestSortPutsMissingTimesLastAndPlansInCatalogOrder(t *testing.T) {
	ix := newIndex(testPlanRank())
	ix.reset([]store.Account{
		{ID: "acc_a", Email: "a@x", Plan: "xxl", TrialEnd: testNow.Add(time.Hour)},
		{ID: "acc_b", Email: "b@x", Plan: "s"},
		{ID: "acc_c", Email: "c@x", Plan: "", TrialEnd: testNow.Add(-time.Hour)},
		{ID: "acc_d", Email: "D@x", Plan: "free"},
		{ID: "acc_e", Email: "e@x", Plan: "m"},
	})
	for _, tc := range []struct {
		q    query
		want []string
	}{
		{query{sort: colTrialEnd, limit: 9}, []string{"acc_c", "acc_a", "acc_b", "acc_d", "acc_e"}},
		{query{sort: colPlan, limit: 9}, []string{"acc_c", "acc_d", "acc_b", "acc_e", "acc_a"}},
		{query{sort: colPlan, desc: true, limit: 2}, []string{"acc_a", "acc_e"}},
		{query{sort: colEmail, limit: 9, offset: 2}, []string{"acc_c", "acc_d", "acc_e"}}, // case-insensitive
	} {
		if got := ids(ix.run(tc.q).rows); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.q, got, tc.want)
		}
	}
}
