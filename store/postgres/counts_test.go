package postgres

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/portal/portal/store"
)

// The account counts two instances keep while both change accounts' states
// at once equal a count of the accounts, read from either instance, before
// and after reads fold the rows; a fold leaves one row per key.
func TestAccountCountsTwoInstances(t *testing.T) {
	a, b := openTwo(t)
	const accounts = 40
	var ids []string
	for i := range accounts {
		acct, err := a.CreateAccount(fmt.Sprintf("u%d@example.com", i), store.Key{Fingerprint: fmt.Sprintf("SHA256:k%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, acct.ID)
	}
	states := []struct {
		state  store.State
		plan   string
		status string
	}{{store.StateTrial, "s", "trialing"}, {store.StateActive, "m", "active"}, {store.StatePastDue, "m", "past_due"}, {store.StateFree, "free", ""}}
	truth := func() map[string]int {
		t.Helper()
		rows, err := a.pool.Query(context.Background(), "SELECT state, plan, sub_status, count(*) FROM accounts GROUP BY 1, 2, 3")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]int{}
		for rows.Next() {
			var s, p, st string
			var n int
			if err := rows.Scan(&s, &p, &st, &n); err != nil {
				t.Fatal(err)
			}
			m[s+"/"+p+"/"+st] = n
		}
		return m
	}
	kept := func(db *DB) map[string]int {
		t.Helper()
		cs, err := db.AccountCounts()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, c := range cs {
			m[string(c.State)+"/"+c.Plan+"/"+c.SubscriptionStatus] = c.N
		}
		return m
	}
	var wg sync.WaitGroup
	for w, db := range []*DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				st := states[(i+w)%len(states)]
				_, err := db.UpdateAccount(ids[(i*7+w)%accounts], func(x *store.Account) error {
					x.State, x.Plan, x.SubscriptionStatus = st.state, st.plan, st.status
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					if _, err := db.AccountCounts(); err != nil { // reads (and folds) while others write
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	want := truth()
	for _, db := range []*DB{a, b, a} {
		if got := kept(db); !maps.Equal(got, want) {
			t.Fatalf("counts = %v, the accounts hold %v", got, want)
		}
	}
	// 1,600 changes wrote up to 3,200 rows; a read that finds more than
	// foldCountsAfter folds them, so the reads above leave no more than that.
	var rows, keys int
	if err := a.pool.QueryRow(context.Background(),
		"SELECT count(*), count(DISTINCT (state, plan, sub_status)) FROM account_counts").Scan(&rows, &keys); err != nil {
		t.Fatal(err)
	}
	if rows > foldCountsAfter || rows < keys {
		t.Errorf("account_counts holds %d rows for %d keys", rows, keys)
	}
}
