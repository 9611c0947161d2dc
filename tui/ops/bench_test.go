package ops

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

const benchAccounts = 100_000

func benchIndex(tb testing.TB, f *fixture) []store.Account {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	accts := make([]store.Account, benchAccounts)
	for i := range accts {
		accts[i] = genAccount(rng, i, 1)
	}
	f.ops.idx.reset(accts)
	return accts
}

// tableScript is what an admin types on the accounts table: searching
// character by character, cycling filters, changing the sort, paging.
var tableScript = func() []string {
	var s []string
	s = append(s, "/")
	for _, r := range "user12" {
		s = append(s, string(r))
	}
	s = append(s, "backspace", "backspace", "3", "enter", "s", "s", "s", "p", "p", "pgdown", "down", "c")
	for range 8 {
		s = append(s, "right", "pgdown", "pgdown")
	}
	s = append(s, "r", "end", "pgup", "home", "/", "b", "e", "t", "a", "esc")
	for range 9 {
		s = append(s, "S", "down", "P")
	}
	return append(s, "c")
}()

// BenchmarkTable measures one keystroke on the accounts table with 100,000
// accounts: Update (which re-runs the query) and View (the frame), as the
// admin waits for it. Reported: p50, p99 and max per keystroke.
//
//	go test ./tui/ops -run '^$' -bench Table -count 5
func BenchmarkTable(b *testing.B) {
	f := newFixture(b, false)
	benchIndex(b, f)
	d := f.drive(b, 160, 50)
	lat := make([]time.Duration, 0, 4096)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := tableScript[i%len(tableScript)]
		start := time.Now()
		d.keys(k)
		_ = d.view()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkTableQuery is the query alone (no rendering), worst cases:
// a substring search that matches nothing scans every row.
func BenchmarkTableQuery(b *testing.B) {
	f := newFixture(b, false)
	benchIndex(b, f)
	qs := []query{
		{sort: colEmail, limit: 45},
		{sort: colTrialEnd, desc: true, states: []store.State{store.StateTrial}, limit: 45, offset: 4500},
		{sort: colLastSync, plans: []string{"m"}, search: "gamma", limit: 45},
		{sort: colSubscription, search: "no such thing", limit: 45},
	}
	lat := make([]time.Duration, 0, 4096)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		_ = f.ops.idx.run(qs[i%len(qs)])
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// BenchmarkIndexApply is the cost of one account change reaching the index
// of 100,000 (the change-feed path: all column orders updated in place).
func BenchmarkIndexApply(b *testing.B) {
	f := newFixture(b, false)
	accts := benchIndex(b, f)
	rng := rand.New(rand.NewPCG(3, 5))
	for b.Loop() {
		j := rng.IntN(len(accts))
		n := genAccount(rng, 0, accts[j].Version+1)
		n.ID, n.Keys = accts[j].ID, accts[j].Keys
		accts[j] = n
		f.ops.idx.apply([]store.Account{n}, nil)
	}
}

// BenchmarkIndexReset is a full (re)load of 100,000 accounts already read:
// rows built and every column sorted (at start and after a feed overflow).
func BenchmarkIndexReset(b *testing.B) {
	f := newFixture(b, false)
	accts := benchIndex(b, f)
	for b.Loop() {
		f.ops.idx.reset(accts)
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}
