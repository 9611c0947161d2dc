package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portal/portal/store"
)

// The change feed across instances.
//
// A transaction that changes accounts writes one row per account into
// changes and calls pg_notify(notifyChannel) before it commits, so the rows
// and the wake-up exist exactly when the change does. Each instance keeps
// one connection that LISTENs and, on every wake-up, on every (re)connect
// and every pollEvery as a safety net, reads the rows after the last one it
// delivered: NOTIFY alone would lose what committed while the connection was
// down.
//
// Reading "after the last one" is only safe if a smaller seq can never
// become visible after a larger one. With a sequence it could: a transaction
// takes 9, another takes 10 and commits first, and a reader that moved past
// 10 never sees 9 (and a rollback leaves a hole for ever). So seq comes from
// the one-row feed_counter instead, updated as the transaction's last
// statement before COMMIT: its row lock holds the next writer until this
// one has committed, and PostgreSQL makes a commit visible before it
// releases the transaction's locks. Numbers therefore become visible in
// order and without gaps. The price is that writers pass the counter one at
// a time, for the length of a COMMIT; everything before it (reads, the
// account's row lock, the writes) runs concurrently.

const (
	notifyChannel = "portal_changes"
	pollEvery     = 5 * time.Second
	readBatch     = 1000
)

// changesSQL gives each account in $1 (first-change order) the next feed
// number, in one statement that takes the counter's row lock and queues the
// wake-up ($2) that PostgreSQL sends on commit. It returns the new last
// number. Run it last, right before COMMIT.
const changesSQL = `
	WITH c AS (UPDATE feed_counter SET last = last + cardinality($1::text[]) RETURNING last),
	     rows AS (
	         INSERT INTO changes (seq, account_id)
	         SELECT c.last - cardinality($1::text[]) + u.i, u.id
	         FROM c, unnest($1::text[]) WITH ORDINALITY AS u(id, i))
	SELECT last, pg_notify($2, '') FROM c`

// numbered returns the changes of ids given the counter's new last number.
func numbered(last int64, ids []string) []store.Change {
	out := make([]store.Change, len(ids))
	first := uint64(last) - uint64(len(ids))
	for i, id := range ids {
		out[i] = store.Change{Seq: first + uint64(i) + 1, AccountID: id}
	}
	return out
}

// writeChanges runs changesSQL in tx.
func writeChanges(ctx context.Context, tx pgx.Tx, ids []string) ([]store.Change, error) {
	var last int64
	if err := tx.QueryRow(ctx, changesSQL, ids, notifyChannel).Scan(&last, nil); err != nil {
		return nil, err
	}
	return numbered(last, ids), nil
}

// commitWithChanges numbers ids' changes and commits the transaction open
// on conn, sending both in one round trip: the counter's lock is then held
// for the server's work and the WAL flush only, never while this process
// waits to be scheduled between the two.
func commitWithChanges(ctx context.Context, conn *pgx.Conn, ids []string) ([]store.Change, error) {
	b := &pgx.Batch{}
	var last int64
	if len(ids) > 0 {
		b.Queue(changesSQL, ids, notifyChannel).QueryRow(func(row pgx.Row) error { return row.Scan(&last, nil) })
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return numbered(last, ids), nil
}

// querier is what readChanges needs of a connection or pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readChanges returns up to limit changes with seq > after, ascending; when
// rows after `after` were pruned, the first is a Resync to continue from.
func readChanges(ctx context.Context, q querier, after uint64, limit int) ([]store.Change, error) {
	var pruned int64
	if err := q.QueryRow(ctx, "SELECT through FROM feed_pruned").Scan(&pruned); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	var out []store.Change
	if after < uint64(pruned) {
		out = append(out, store.Change{Seq: uint64(pruned), Resync: true})
		after = uint64(pruned)
		limit--
	}
	if limit <= 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT seq, account_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2", int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c store.Change
		var seq int64
		if err := rows.Scan(&seq, &c.AccountID); err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		c.Seq = uint64(seq)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

// reader follows the changes table for one instance and hands each batch of
// new changes to deliver, in seq order, from its own goroutine.
type reader struct {
	connConfig *pgx.ConnConfig
	log        *slog.Logger
	deliver    func([]store.Change)
	poll       time.Duration

	mu   sync.Mutex
	last uint64 // every change up to last was delivered
	pid  uint32 // backend pid of the listening connection, 0 while down
}

func newReader(cfg *pgx.ConnConfig, start uint64, log *slog.Logger, deliver func([]store.Change)) *reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &reader{connConfig: cfg, log: log, deliver: deliver, poll: pollEvery, last: start}
}

// Last returns the newest seq delivered.
func (r *reader) Last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// PID returns the listening connection's backend pid, 0 while it is down.
func (r *reader) PID() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid
}

// run keeps a listening connection until ctx ends, reconnecting with backoff.
func (r *reader) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, r.connConfig.Copy())
		if err == nil {
			r.mu.Lock()
			r.pid = conn.PgConn().PID()
			r.mu.Unlock()
			err = r.follow(ctx, conn, &backoff)
			r.mu.Lock()
			r.pid = 0
			r.mu.Unlock()
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("change feed: listening connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// follow LISTENs on conn and reads after every wake-up until an error.
func (r *reader) follow(ctx context.Context, conn *pgx.Conn, backoff *time.Duration) error {
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	for {
		// Read after LISTEN: what committed before it is read here, what
		// commits after it wakes us.
		if err := r.catchUp(ctx, conn); err != nil {
			return err
		}
		*backoff = 50 * time.Millisecond
		wctx, cancel := context.WithTimeout(ctx, r.poll)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil, errors.Is(err, context.DeadlineExceeded):
		default:
			return err
		}
	}
}

// catchUp delivers every change after the last one delivered.
func (r *reader) catchUp(ctx context.Context, conn *pgx.Conn) error {
	for {
		after := r.Last()
		changes, err := readChanges(ctx, conn, after, readBatch)
		if err != nil || len(changes) == 0 {
			return err
		}
		r.deliver(changes)
		r.mu.Lock()
		r.last = changes[len(changes)-1].Seq
		r.mu.Unlock()
		if len(changes) < readBatch {
			return nil
		}
	}
}
