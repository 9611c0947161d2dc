package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The change feed across instances.
//
// A transaction that changes an account inserts a row into changes (seq from
// a sequence) and calls pg_notify(notifyChannel) before it commits, so the
// row and the wake-up exist exactly when the change does. Each instance keeps
// one connection that LISTENs and, on every wake-up, on every (re)connect and
// every pollEvery as a safety net, reads the rows after the last one it
// delivered: NOTIFY alone would lose what committed while the connection was
// down.
//
// Sequence numbers are taken in one order and committed in another: a
// transaction may take seq 9, then another takes 10 and commits first. A
// reader that delivered 10 and moved on to "after 10" would never see 9. So
// the reader only reads up to a bound it knows is final. Before each read it
// notes H, the sequence's last value, then has a transaction id X assigned
// (pg_current_xact_id): every seq <= H was taken by a transaction whose xid
// is below X, since an insert into changes assigns the xid before it takes
// the seq (see the migration) and xids are handed out in order. (A
// snapshot's xmax would not do: a running transaction may have an xid at or
// above it.) Once a later snapshot's xmin reaches X, every such transaction
// has committed or aborted, so every seq <= H is visible or never will be.
// With no transaction in flight that holds at once; otherwise the reader
// looks again shortly (retryEvery) and on the next wake-up. Each look costs
// one xid, as each change does. A transaction held open
// for long (anywhere on the server) delays the feed; it never loses a change.

const (
	notifyChannel = "portal_changes"
	pollEvery     = 5 * time.Second
	retryEvery    = 10 * time.Millisecond
	// maxCheckpoints bounds the bounds a reader waits on; dropping one only
	// means waiting for a later, larger one.
	maxCheckpoints = 64
)

// Change is one committed change to an account, in the feed's order.
type Change struct {
	Seq       int64
	AccountID string
}

// recordChange writes the feed's row for accountID in tx and queues the
// wake-up that PostgreSQL sends when tx commits.
func recordChange(ctx context.Context, tx pgx.Tx, accountID string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `INSERT INTO changes (xid, account_id) VALUES (pg_current_xact_id(), $1) RETURNING seq`, accountID).Scan(&seq)
	if err != nil {
		return 0, err
	}
	// Notifications with one payload coalesce within a transaction and are
	// sent on commit only.
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
		return 0, err
	}
	return seq, nil
}

type checkpoint struct {
	high int64  // the sequence's last value, read first
	xid  uint64 // then a transaction id assigned after that read
}

// reader follows the changes table for one instance and hands what is final
// to deliver, in seq order, from its own goroutine.
type reader struct {
	connConfig *pgx.ConnConfig
	log        *slog.Logger
	deliver    func([]Change)
	poll       time.Duration

	mu      sync.Mutex
	safe    int64 // every seq <= safe is delivered, or was never committed
	pending []checkpoint
	pid     uint32 // backend pid of the listening connection, 0 while down
	wait    chan struct{}
}

func newReader(cfg *pgx.ConnConfig, start int64, log *slog.Logger, deliver func([]Change)) *reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &reader{connConfig: cfg, log: log, deliver: deliver, poll: pollEvery, safe: start, wait: make(chan struct{})}
}

// Safe returns the bound below which the feed is final and delivered.
func (r *reader) Safe() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.safe
}

// waitSafe returns a channel closed the next time Safe moves.
func (r *reader) waitSafe() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wait
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
		unresolved, err := r.step(ctx, conn)
		if err != nil {
			return err
		}
		*backoff = 50 * time.Millisecond
		wait := r.poll
		if unresolved {
			wait = retryEvery
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		_, err = conn.WaitForNotification(wctx)
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

// step reads and delivers every change that is final; it reports whether
// some taken sequence numbers were not final yet.
func (r *reader) step(ctx context.Context, conn *pgx.Conn) (unresolved bool, err error) {
	var high int64
	var called bool
	if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM changes_seq_seq").Scan(&high, &called); err != nil {
		return false, fmt.Errorf("read the change sequence: %w", err)
	}
	if !called {
		high = 0
	}
	// The statement's snapshot is taken before it assigns the xid: in a
	// quiet database its xmin is that xid, and the new checkpoint is final
	// at once.
	var xid, xmin uint64
	if err := conn.QueryRow(ctx, "SELECT pg_current_xact_id(), pg_snapshot_xmin(pg_current_snapshot())").Scan(&xid, &xmin); err != nil {
		return false, fmt.Errorf("read a snapshot: %w", err)
	}
	r.mu.Lock()
	if high > r.safe && (len(r.pending) == 0 || r.pending[len(r.pending)-1].high < high) {
		r.pending = append(r.pending, checkpoint{high: high, xid: xid})
		if len(r.pending) > maxCheckpoints {
			r.pending = append(r.pending[:1], r.pending[len(r.pending)-maxCheckpoints+1:]...)
		}
	}
	bound, from := r.safe, r.safe
	keep := r.pending[:0]
	for _, cp := range r.pending {
		if cp.xid <= xmin {
			bound = max(bound, cp.high)
		} else {
			keep = append(keep, cp)
		}
	}
	r.pending = keep
	unresolved = len(keep) > 0
	r.mu.Unlock()
	if bound == from {
		return unresolved, nil
	}
	changes, err := readChanges(ctx, conn, from, bound)
	if err != nil {
		return unresolved, err
	}
	if len(changes) > 0 {
		r.deliver(changes)
	}
	r.mu.Lock()
	r.safe = bound
	close(r.wait)
	r.wait = make(chan struct{})
	r.mu.Unlock()
	return unresolved, nil
}

// querier is what readChanges needs of a connection or pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readChanges returns the changes with after < seq <= upTo in seq order.
func readChanges(ctx context.Context, q querier, after, upTo int64) ([]Change, error) {
	rows, err := q.Query(ctx, "SELECT seq, account_id FROM changes WHERE seq > $1 AND seq <= $2 ORDER BY seq", after, upTo)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Change])
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}
