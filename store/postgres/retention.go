package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/portal/portal/store"
)

// Prune removes history older than before, as store.DB.Prune does on bbolt
// and with its caveats: final (processed or ignored) event records received
// before it, audit entries made before it, notices mailed before it, and
// short links expired by it. Each statement deletes at most batch rows
// (store.DefaultPruneBatch when <= 0) and commits on its own, so webhooks and
// sessions never wait long behind it. It stops early when ctx ends and
// returns what it removed so far. Run it on one instance (an elected job);
// two at once remove each row once.
func (db *DB) Prune(ctx context.Context, before time.Time, batch int) (store.PruneResult, error) {
	if db.closed.Load() {
		return store.PruneResult{}, unavailable(errClosed)
	}
	if batch <= 0 {
		batch = store.DefaultPruneBatch
	}
	var total store.PruneResult
	for _, st := range []struct {
		step  func(context.Context, time.Time, int, *int64) (int, bool, error)
		count *int
	}{{db.pruneEvents, &total.Events}, {db.pruneAudit, &total.Audit}, {db.pruneNotices, &total.Notices}, {db.pruneLinks, &total.Links}} {
		var resume int64 // where the next batch starts, for steps that skip rows that stay
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			n, done, err := st.step(ctx, before, batch, &resume)
			if err != nil {
				if ctx.Err() != nil {
					return total, ctx.Err()
				}
				return total, unavailable(err)
			}
			*st.count += n
			if done {
				break
			}
		}
	}
	return total, nil
}

// The steps below each remove up to batch rows in one statement and say
// whether nothing older is left.

func (db *DB) pruneEvents(ctx context.Context, before time.Time, batch int, _ *int64) (int, bool, error) {
	// events_received finds the oldest; the few failed ones among them stay
	// and are stepped over.
	tag, err := db.pool.Exec(ctx, `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE received_ns < $1 AND data->>'Status' IN ($2, $3)
		ORDER BY received_ns LIMIT $4)`,
		before.UnixNano(), string(store.EventStatusProcessed), string(store.EventStatusIgnored), batch)
	if err != nil {
		return 0, false, err
	}
	n := int(tag.RowsAffected())
	return n, n < batch, nil
}

// pruneAudit deletes the oldest entries (seq is insertion order, which is
// time order) up to the first one made at or after before. The time is
// compared in Go: the stored JSON keeps nanoseconds that PostgreSQL's
// timestamptz would round.
func (db *DB) pruneAudit(ctx context.Context, before time.Time, batch int, _ *int64) (int, bool, error) {
	rows, err := db.pool.Query(ctx, "SELECT seq, data->'At' FROM audit ORDER BY seq LIMIT $1", batch)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var through int64
	n, done := 0, true
	for rows.Next() {
		var seq int64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return 0, false, err
		}
		var at time.Time
		if err := json.Unmarshal(raw, &at); err != nil {
			return 0, false, err
		}
		if !at.Before(before) {
			done = true
			break
		}
		through, n = seq, n+1
		done = n < batch
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	if n == 0 {
		return 0, true, nil
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM audit WHERE seq <= $1", through)
	if err != nil {
		return 0, false, err
	}
	return int(tag.RowsAffected()), done, nil
}

// pruneNotices deletes mailed notices mailed before before, reading them in
// creation order (seq) from *resume until the first created at or after
// before: none created later was mailed earlier.
func (db *DB) pruneNotices(ctx context.Context, before time.Time, batch int, resume *int64) (int, bool, error) {
	rows, err := db.pool.Query(ctx, "SELECT seq, data FROM notices WHERE mailed AND seq > $1 ORDER BY seq LIMIT $2", *resume, batch)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var del []int64
	read, done := 0, false
	for rows.Next() {
		var seq int64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return 0, false, err
		}
		var n store.Notice
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, false, err
		}
		if !n.CreatedAt.Before(before) {
			done = true
			break
		}
		read, *resume = read+1, seq
		if !n.MailedAt.IsZero() && n.MailedAt.Before(before) {
			del = append(del, seq)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	done = done || read < batch
	if len(del) == 0 {
		return 0, done, nil
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM notices WHERE seq = ANY($1)", del)
	if err != nil {
		return 0, false, err
	}
	return int(tag.RowsAffected()), done, nil
}

func (db *DB) pruneLinks(ctx context.Context, before time.Time, batch int, _ *int64) (int, bool, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM links WHERE token IN (
		SELECT token FROM links WHERE expires_ns <= $1 LIMIT $2)`, before.UnixNano(), batch)
	if err != nil {
		return 0, false, err
	}
	n := int(tag.RowsAffected())
	return n, n < batch, nil
}
