// Package postgres is the portal's store on PostgreSQL, for several portal
// instances behind a load balancer sharing one database. It implements
// store.Store with the same observable behaviour as the embedded bbolt
// engine (package store; the contract suite store/storetest runs on both)
// and adds what several instances need: a change feed every instance
// follows (feed.go) and an Elector for jobs that must run once (leader.go).
//
// Open runs the embedded schema migrations under an advisory lock, so
// instances may start together. The database's constraints keep the unique
// indexes (email, case-insensitive; key fingerprint; Stripe customer; Stripe
// event id) true whichever instance writes, and an update of an account
// locks its row (SELECT … FOR UPDATE), so changes to one account from
// several instances commit one after the other.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/portal/portal/store"
)

// Options configures Open. The zero value is ready for production use.
type Options struct {
	// Now is the clock for CreatedAt, UpdatedAt and other stamps; default time.Now.
	Now func() time.Time
	// Logger receives the feed's and the elector's warnings; default discard.
	Logger *slog.Logger
	// NoGroupCommit makes each Update commit alone, on a connection of its
	// own: the baseline the group commit (group.go) is measured against.
	NoGroupCommit bool
	// MaxConns bounds the pool (default defaultMaxConns, or pool_max_conns
	// in the URL). The feed and each elected job hold one more connection
	// each, outside the pool.
	MaxConns int32
}

// defaultMaxConns is the pool's default size. A durable commit mostly waits
// for the WAL flush, not for a CPU, and commits in flight together share one
// flush: pgxpool's default (4 on a 2-core machine) would cap an instance at
// 4 commits a flush.
const defaultMaxConns = 16

// DB is an open PostgreSQL store. It is safe for concurrent use; open one per
// process.
type DB struct {
	store.Ops

	pool       *pgxpool.Pool
	connConfig *pgx.ConnConfig
	now        func() time.Time
	log        *slog.Logger
	hub        *store.Hub
	reader     *reader
	elector    *Elector
	groups     *groups // nil with Options.NoGroupCommit
	instance   string  // names this instance's wake-ups (feed.go)

	observeTx store.TxObserver

	closed atomic.Bool
	stop   context.CancelFunc
	bg     sync.WaitGroup
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// string), migrates its schema (see Migrate) and starts following the change
// feed. It fails when the database cannot be reached within ctx.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: database URL: %w", err)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = max(cfg.MaxConns, defaultMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", Describe(cfg.ConnConfig), err)
	}
	if _, err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	start, err := horizon(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: read the feed's position: %w", err)
	}
	db := &DB{
		pool: pool, connConfig: cfg.ConnConfig, now: opts.Now, log: opts.Logger, instance: newID("pg_"),
		elector: NewElector(cfg.ConnConfig, opts.Logger),
	}
	db.Ops = store.Ops{E: db}
	db.hub = store.NewHub(db)
	if !opts.NoGroupCommit {
		db.groups = newGroups(db)
	}
	// Changes before now concern nobody yet: subscribers catch up from the
	// table themselves.
	db.reader = newReader(cfg.ConnConfig, start, db.instance, opts.Logger, func(ch []store.Change) { db.hub.Publish(ch...) })
	bg, stop := context.WithCancel(context.Background())
	db.stop = stop
	db.bg.Add(1)
	go func() { defer db.bg.Done(); db.reader.run(bg) }()
	return db, nil
}

// Describe names the server and database of cfg, without the password.
func Describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Close stops following the feed, ends every subscription and closes the
// pool. Calls after the first do nothing.
func (db *DB) Close() error {
	if !db.closed.CompareAndSwap(false, true) {
		return nil
	}
	if db.groups != nil {
		db.groups.close()
	}
	db.stop()
	db.bg.Wait()
	db.hub.Close()
	db.pool.Close()
	return nil
}

// Pool is the connection pool, for tools and tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Elector runs jobs on one instance at a time.
func (db *DB) Elector() *Elector { return db.elector }

// FeedPID is the backend pid of the connection that listens for changes, 0
// while it reconnects. Tests end it with pg_terminate_backend.
func (db *DB) FeedPID() uint32 { return db.reader.PID() }

// FeedDelivered is the newest feed seq this instance has read and published.
func (db *DB) FeedDelivered() uint64 { return db.reader.Last() }

var errClosed = errors.New("postgres: store closed")

// unavailable wraps an engine failure in store.ErrUnavailable.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// retryable reports whether a transaction failed only because of another
// one (deadlock, serialisation failure) and may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// maxAttempts bounds Update's retries of deadlocks and serialisation failures.
const maxAttempts = 10

// Update runs fn in one read-write transaction; see store.Engine.Update. It
// runs at READ COMMITTED: UpdateAccount locks the account's row, so two
// changes of one account (from any instance) commit one after the other and
// each sees the other's result. Concurrent callers commit together (see
// group.go); fn may run more than once. A deadlock between two transactions
// runs the loser again, up to 10 times.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if db.closed.Load() {
		return unavailable(errClosed)
	}
	defer db.timeTx("update")()
	if err := ctx.Err(); err != nil {
		return unavailable(err)
	}
	if db.groups != nil {
		if ok, err := db.groups.update(fn); ok {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		changes, fnErr, err := db.update(ctx, fn)
		switch {
		case err == nil && fnErr == nil:
			// Subscribers here hear at once; the other instances (and this
			// one again, harmlessly: a change only means "re-read") through
			// the feed.
			db.hub.Publish(changes...)
			return nil
		case retryable(err) && attempt < maxAttempts:
			continue
		case fnErr != nil:
			return fnErr
		default:
			return unavailable(err)
		}
	}
}

// update is one attempt of Update: fnErr is fn's own error, err the engine's.
// It drives the transaction by hand (BEGIN … COMMIT on a pooled connection,
// lazytx.go) so that BEGIN goes with the first statement, writes whose result
// fn does not need go with the next one, and the last writes, the feed
// numbers, the COMMIT and the wake-up take one round trip.
func (db *DB) update(ctx context.Context, fn func(store.Tx) error) (changes []store.Change, fnErr, err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	// A connection released inside a transaction (an error below) is
	// closed by the pool, which ends the transaction.
	defer conn.Release()
	lb := &lazyBegin{conn: conn.Conn()} // BEGIN goes with the first statement
	rollback := func() {
		if lb.begun {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}
	t := &pgTx{ctx: ctx, tx: lb, now: db.now()}
	if fnErr = fn(t); fnErr != nil {
		rollback()
		if t.failed != nil && retryable(t.failed) {
			// fn gave up because of a deadlock: run it again.
			return nil, nil, t.failed
		}
		return nil, fnErr, nil
	}
	if t.failed != nil {
		// fn ignored an engine error; the transaction is aborted.
		rollback()
		return nil, nil, t.failed
	}
	if !lb.started() {
		return nil, nil, nil // fn ran no statement: nothing to commit
	}
	if changes, _, err = commitWithChanges(ctx, lb, t.changed, db.instance); err != nil {
		rollback()
		return nil, nil, err
	}
	return changes, nil, nil
}

// View runs fn in a read-only REPEATABLE READ transaction: one snapshot.
func (db *DB) View(ctx context.Context, fn func(store.ReadTx) error) error {
	if db.closed.Load() {
		return unavailable(errClosed)
	}
	defer db.timeTx("view")()
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	t := &pgTx{ctx: ctx, tx: tx, now: db.now()}
	if err := fn(t); err != nil {
		return err
	}
	if t.failed != nil {
		return unavailable(t.failed)
	}
	return nil
}

// LastSeq returns the newest committed change's seq, of accountID or of all
// accounts (""): for all accounts, the feed's horizon (feed.go), so that a
// subscriber starting from it misses no number that commits late; for one
// account, its newest visible row (one account's numbers commit in order).
func (db *DB) LastSeq(ctx context.Context, accountID string) (uint64, error) {
	if db.closed.Load() {
		return 0, unavailable(errClosed)
	}
	if accountID == "" {
		h, err := horizon(ctx, db.pool)
		return h, unavailable(err)
	}
	var seq int64
	if err := db.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes WHERE account_id = $1", accountID).Scan(&seq); err != nil {
		return 0, unavailable(err)
	}
	return uint64(seq), nil
}

// Changes returns committed changes after `after`, ascending (default limit
// 1000); see store.Engine.Changes. It reads up to the feed's horizon (see
// feed.go), so what it returns never skips one that commits later.
func (db *DB) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	if db.closed.Load() {
		return nil, unavailable(errClosed)
	}
	if limit <= 0 {
		limit = 1000
	}
	ch, err := readFinal(ctx, db.pool, after, limit)
	return ch, unavailable(err)
}

// SubscribeFrom delivers the changes after fromSeq; see store.Engine.SubscribeFrom.
func (db *DB) SubscribeFrom(accountID string, fromSeq uint64) *store.Subscription {
	return db.hub.Subscribe(accountID, fromSeq)
}

// PruneFeed deletes the feed's rows older than keepFor, except each
// account's newest (LastSeq needs it), and returns how many it deleted. A
// subscriber resuming from before the pruned range gets a Resync. Run it on
// one instance (an elected job).
func (db *DB) PruneFeed(ctx context.Context, keepFor time.Duration) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var through int64
		err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes WHERE at < now() - make_interval(secs => $1)", keepFor.Seconds()).Scan(&through)
		if err != nil || through == 0 {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM changes c WHERE seq <= $1
			AND EXISTS (SELECT 1 FROM changes n WHERE n.account_id = c.account_id AND n.seq > c.seq)`, through)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, "UPDATE feed_pruned SET through = greatest(through, $1)", through)
		return err
	})
	return n, unavailable(err)
}
