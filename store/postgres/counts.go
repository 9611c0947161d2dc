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

// foldCountsAfter is how many account_counts rows a read may find before it
// folds them into one row per key.
const foldCountsAfter = 1024

// AccountCounts returns the number of accounts by state, plan and
// subscription status; see store.Maintenance. It sums the account_counts
// rows that a trigger on accounts adds on every change of those three
// (migration 0005), never reading the accounts themselves; when the rows
// have grown past foldCountsAfter it folds them into one row per key, so a
// read costs about the changes since the last fold.
//
// A fold is one statement that deletes rows and inserts their sums, so a
// read on any instance sees the totals before or after it, never a part;
// two folds at once still keep every row's n exactly once.
func (db *DB) AccountCounts() ([]store.AccountCount, error) {
	if db.closed.Load() {
		return nil, unavailable(errClosed)
	}
	ctx := context.Background()
	rows, err := db.pool.Query(ctx,
		"SELECT state, plan, sub_status, sum(n), count(*) FROM account_counts GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []store.AccountCount
	var stored int64
	for rows.Next() {
		var c store.AccountCount
		var state string
		var n, k int64
		if err := rows.Scan(&state, &c.Plan, &c.SubscriptionStatus, &n, &k); err != nil {
			return nil, unavailable(err)
		}
		if stored += k; n != 0 {
			c.State, c.N = store.State(state), int(n)
			out = append(out, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	if stored > foldCountsAfter {
		if _, err := db.pool.Exec(ctx, `
WITH folded AS (DELETE FROM account_counts RETURNING state, plan, sub_status, n)
INSERT INTO account_counts (state, plan, sub_status, n)
SELECT state, plan, sub_status, sum(n) FROM folded GROUP BY 1, 2, 3 HAVING sum(n) <> 0`); err != nil {
			// The counts read are right; the next read folds again.
			db.log.Warn("store: folding account counts", "err", err)
		}
	}
	return out, nil
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
