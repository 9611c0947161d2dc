package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/portal/portal/store"
)

// trialEndNs is the account's trial_end_ns column: its trial end in Unix
// nanoseconds while it trials (or cancels during a trial), else NULL; the
// same accounts bbolt's trial-end index holds.
func trialEndNs(a *store.Account) *int64 {
	if a.TrialEnd.IsZero() || (a.State != store.StateTrial && a.State != store.StateCanceling) {
		return nil
	}
	ns := a.TrialEnd.UnixNano()
	return &ns
}

// AccountCounts returns the number of accounts by state, plan and
// subscription status; see store.Maintenance. The GROUP BY reads the
// accounts_counts index (an index-only scan once the table is vacuumed),
// not the accounts' JSON.
func (db *DB) AccountCounts() ([]store.AccountCount, error) {
	if db.closed.Load() {
		return nil, unavailable(errClosed)
	}
	rows, err := db.pool.Query(context.Background(),
		"SELECT state, plan, sub_status, count(*) FROM accounts GROUP BY state, plan, sub_status ORDER BY 1, 2, 3")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []store.AccountCount
	for rows.Next() {
		var c store.AccountCount
		var state string
		if err := rows.Scan(&state, &c.Plan, &c.SubscriptionStatus, &c.N); err != nil {
			return nil, unavailable(err)
		}
		c.State = store.State(state)
		out = append(out, c)
	}
	return out, unavailable(rows.Err())
}

// TrialsEndingBetween counts accounts trialing (or canceling during a trial)
// whose trial ends in [from, to), from the accounts_trial_end index.
func (db *DB) TrialsEndingBetween(from, to time.Time) (int, error) {
	if db.closed.Load() {
		return 0, unavailable(errClosed)
	}
	var n int
	err := db.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM accounts WHERE trial_end_ns >= $1 AND trial_end_ns < $2", from.UnixNano(), to.UnixNano()).Scan(&n)
	return n, unavailable(err)
}

// PoolStat is the connection pool's own figures (pgxpool Stat), for metrics.
func (db *DB) PoolStat() *pgxpool.Stat { return db.pool.Stat() }
