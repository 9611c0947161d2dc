package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/portal/portal/store"
)

// The change feed across instances.
//
// A transaction that changes accounts writes one row per account into
// changes, numbered by the sequence changes_seq, as its last statement
// before COMMIT; right after the COMMIT, in the same round trip and outside
// the transaction, it calls pg_notify(notifyChannel). Each instance keeps one
// connection that LISTENs and, on every wake-up, on every (re)connect and
// every pollEvery as a safety net, reads the rows after the last one it
// delivered: NOTIFY alone would lose what committed while the connection was
// down.
//
// Why not serialise: a one-row counter (the previous design) or a NOTIFY
// inside the transaction (PostgreSQL takes one database-wide lock from a
// notifying transaction's pre-commit until its end, WAL flush included) makes
// every writer's COMMIT wait for the previous one's flush: one commit per
// fsync, some 600 a second here. Without them, concurrent commits share a
// flush (group commit).
//
// The price: numbers from a sequence commit out of order (a transaction
// takes 9, another takes 10 and commits first) and a rolled-back one leaves
// a hole for ever. So nothing reads "everything after the last one"; a
// reader reads up to a horizon (see horizon) below which every number has
// committed or never will: the newest number visible in a snapshot, once
// every transaction that was in progress in that snapshot has ended. That is
// sound because a writer has its transaction id before it takes a number
// (lockSQL asks for it first), so a writer holding a number below
// the newest visible one took it before the snapshot and is one of the
// snapshot's in-progress transactions. Writers are short, so the wait is
// about one COMMIT.
//
// Per account, numbers still commit in order: before numbering, a writer
// takes a transaction advisory lock per changed account (lockFeedAccount),
// so a second writer of one account numbers its change only after the first
// has committed. A change published at commit to this instance's own
// subscribers (the Hub drops one at or before what it offered) is therefore
// never older news than one already offered, and LastSeq of one account is
// its newest visible row.

const (
	notifyChannel = "portal_changes"
	pollEvery     = 5 * time.Second
	readBatch     = 1000
	// lockFeedAccount is the first key of the two-key transaction advisory
	// locks that order one account's feed numbers (the second key is
	// hashtext of the account id). The elector's and migration's locks use
	// one bigint key: another key space.
	lockFeedAccount = 0x706f7274 // "port"
)

// lockSQL gives the transaction its id before it takes a feed number (see
// above; most writers already have one, from their first write) and takes
// the changed accounts' feed locks ($1), in one order whichever transaction
// takes them, so that two writers cannot deadlock on them; by the time a
// writer gets here it waits for no other lock. One statement: the id and
// the locks only need to come before the numbering that follows.
const lockSQL = `SELECT pg_current_xact_id()::text, count(pg_advisory_xact_lock($2::int4, h)) FROM
	(SELECT DISTINCT hashtext(id) AS h FROM unnest($1::text[]) AS u(id) ORDER BY 1) AS l`

// changesSQL numbers each account in $1 (in first-change order) and returns
// the numbers.
const changesSQL = `INSERT INTO changes (account_id)
	SELECT u.id FROM unnest($1::text[]) WITH ORDINALITY AS u(id, i) ORDER BY u.i
	RETURNING seq, account_id`

// notifySQL wakes every instance's reader; its payload ($1) names the
// instance that committed, whose own reader need not read what that
// instance has already published (see reader.follow). It runs after COMMIT,
// in a transaction of its own that writes no WAL, so waits for no flush.
const notifySQL = `SELECT pg_notify('` + notifyChannel + `', $1)`

// queueNumbering adds to b the statements that number ids' changes (in
// the transaction open on b's connection); the changes are in *out once b
// is sent.
func queueNumbering(b *pgx.Batch, ids []string, out *[]store.Change) {
	b.Queue(lockSQL, ids, lockFeedAccount)
	b.Queue(changesSQL, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var seq int64
			var id string
			if err := rows.Scan(&seq, &id); err != nil {
				return err
			}
			*out = append(*out, store.Change{Seq: uint64(seq), AccountID: id})
		}
		return rows.Err()
	})
}

// commitWithChanges sends what lb still holds (BEGIN, queued writes),
// numbers ids' changes, commits the transaction and wakes the readers, in
// one round trip. The wake-up follows the COMMIT in the same pipeline, so it
// is sent even if this process dies meanwhile; if the server does, the
// readers' poll finds the change (so a failed wake-up does not fail a
// commit).
//
// On an error, rolledBack reports that the server refused a statement up to
// and including the COMMIT: nothing of the transaction committed. Else (the
// connection broke, say) the outcome is unknown.
func commitWithChanges(ctx context.Context, lb *lazyBegin, ids []string, instance string) (changes []store.Change, rolledBack bool, err error) {
	b := &pgx.Batch{}
	lb.prefix(b)
	if len(ids) > 0 {
		queueNumbering(b, ids, &changes)
	}
	committed := false
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		committed = tag.String() == "COMMIT"
		if !committed { // the transaction had failed before this batch
			return errors.New("postgres: transaction rolled back at COMMIT")
		}
		return nil
	})
	if len(ids) > 0 {
		b.Queue(notifySQL, instance)
	}
	err = lb.conn.SendBatch(ctx, b).Close()
	if err != nil && !committed {
		var pe *pgconn.PgError
		return nil, errors.As(err, &pe) || lb.conn.PgConn().TxStatus() == 'I', err
	}
	slices.SortFunc(changes, func(a, b store.Change) int { return cmp.Compare(a.Seq, b.Seq) })
	return changes, false, nil
}

// runningXIDs is the SQL of the transactions in progress in the statement's
// snapshot, less those known to be connected to another database (they
// cannot write this one's feed; an id hidden from this role is kept, which
// only makes the wait longer).
const runningXIDs = `ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(pg_current_snapshot()) AS x
	      WHERE (x::text::bigint & 4294967295)::text NOT IN
	            (SELECT backend_xid::text FROM pg_stat_activity
	             WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))`

// horizonSQL reads, in one snapshot, the newest feed number visible and the
// transactions in progress.
const horizonSQL = `SELECT coalesce((SELECT max(seq) FROM changes), 0), ` + runningXIDs

// runningSQL reports whether any of the transactions $1 is still in progress.
const runningSQL = `SELECT EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()) AS x WHERE x::text::bigint = ANY ($1))`

// horizon returns the newest feed number below which every number has
// committed or never will (see the top of this file): the newest visible
// one, once the transactions in progress when it was read have ended.
func horizon(ctx context.Context, q querier) (uint64, error) {
	var h int64
	var running []int64
	if err := q.QueryRow(ctx, horizonSQL).Scan(&h, &running); err != nil {
		return 0, fmt.Errorf("read the feed's horizon: %w", err)
	}
	if err := waitEnded(ctx, q, running); err != nil {
		return 0, err
	}
	return uint64(h), nil
}

// waitEnded returns once none of the transactions xids is in progress,
// checking at once, then after 0.2 ms, 0.4 ms, … up to 5 ms apart.
func waitEnded(ctx context.Context, q querier, xids []int64) error {
	wait := 200 * time.Microsecond
	for len(xids) > 0 {
		var still bool
		if err := q.QueryRow(ctx, runningSQL, xids).Scan(&still); err != nil {
			return fmt.Errorf("read the feed's horizon: %w", err)
		}
		if !still {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Millisecond)
	}
	return nil
}

// readFinalSQL reads, in one snapshot, what readFinal needs: the pruned
// mark, the newest visible number, the transactions in progress and up to
// $2 rows after $1.
const readFinalSQL = `SELECT (SELECT through FROM feed_pruned), coalesce((SELECT max(seq) FROM changes), 0), ` + runningXIDs + `,
	coalesce(array_agg(c.seq ORDER BY c.seq), '{}'), coalesce(array_agg(c.account_id ORDER BY c.seq), '{}')
	FROM (SELECT seq, account_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2) AS c`

// readFinal returns up to limit changes after `after`, ascending, up to the
// horizon, as readChanges(after, horizon()) would; when rows after `after`
// were pruned, the first is a Resync to continue from. When no transaction
// was in progress it takes one round trip (the rows read are final), else
// it waits for them to end and reads again.
func readFinal(ctx context.Context, q querier, after uint64, limit int) ([]store.Change, error) {
	var pruned, h int64
	var running, seqs []int64
	var ids []string
	if err := q.QueryRow(ctx, readFinalSQL, int64(after), limit).Scan(&pruned, &h, &running, &seqs, &ids); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	if len(running) > 0 || after < uint64(pruned) {
		if err := waitEnded(ctx, q, running); err != nil {
			return nil, err
		}
		return readChanges(ctx, q, after, uint64(h), limit)
	}
	out := make([]store.Change, len(seqs))
	for i := range seqs {
		out[i] = store.Change{Seq: uint64(seqs[i]), AccountID: ids[i]}
	}
	return out, nil
}

// querier is what readChanges needs of a connection or pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readChanges returns up to limit changes with after < seq <= through,
// ascending; when rows after `after` were pruned, the first is a Resync to
// continue from. through is a horizon (see horizon).
func readChanges(ctx context.Context, q querier, after, through uint64, limit int) ([]store.Change, error) {
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
	if through <= after {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT seq, account_id FROM changes WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3", int64(after), int64(through), limit)
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
	self       string // the payload of this instance's wake-ups

	reads, skipped atomic.Int64 // catch-ups done, and wake-ups that needed none (tests)

	mu   sync.Mutex
	last uint64 // every change up to last was delivered
	pid  uint32 // backend pid of the listening connection, 0 while down
}

func newReader(cfg *pgx.ConnConfig, start uint64, self string, log *slog.Logger, deliver func([]store.Change)) *reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &reader{connConfig: cfg, log: log, deliver: deliver, poll: pollEvery, self: self, last: start}
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
		// Wake-ups from this instance's own commits need no read: it
		// published those changes as it committed (the Hub drops them when
		// a later read brings them again). Reading after each would cost
		// this instance as much as the commits themselves.
		for {
			wctx, cancel := context.WithTimeout(ctx, r.poll)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				break // the poll
			}
			if err != nil {
				return err
			}
			if r.drain(conn, r.other(n.Payload)) {
				break
			}
			r.skipped.Add(1)
		}
	}
}

// other reports whether a wake-up with payload came from another instance
// (or one that does not say).
func (r *reader) other(payload string) bool { return payload != r.self || r.self == "" }

// drain drops the wake-ups conn has already received (during the last
// read, or queued behind the one just taken): the read that follows covers
// them all, so a burst of commits costs one read, not one each. It reports
// whether any, or found already, was from another instance.
func (r *reader) drain(conn *pgx.Conn, found bool) bool {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		// With a finished context, WaitForNotification returns a queued
		// wake-up, or at once an error without touching the connection.
		n, err := conn.WaitForNotification(done)
		if err != nil || n == nil {
			return found
		}
		found = found || r.other(n.Payload)
	}
}

// catchUp delivers every change after the last one delivered.
func (r *reader) catchUp(ctx context.Context, conn *pgx.Conn) error {
	defer r.reads.Add(1)
	for {
		changes, err := readFinal(ctx, conn, r.Last(), readBatch)
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
