// Package postgres is the portal's store on PostgreSQL, for several portal
// instances behind a load balancer sharing one database. It implements the
// same contract as the embedded bbolt store (package store) and adds what
// several instances need: a change feed every instance follows (feed.go) and
// an Elector for jobs that must run once (leader.go).
//
// Open runs the embedded schema migrations under an advisory lock, so
// instances may start together. The database's constraints keep the unique
// indexes (email, case-insensitive; key fingerprint; Stripe customer; Stripe
// event id) true whichever instance writes, and an update of an account
// locks its row (SELECT … FOR UPDATE) so changes to one account from several
// instances commit one after the other.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures Open. The zero value is ready for production use.
type Options struct {
	// Now is the clock for CreatedAt, UpdatedAt and other stamps; default time.Now.
	Now func() time.Time
	// Logger receives the feed's and the elector's warnings; default discard.
	Logger *slog.Logger
	// MaxConns bounds the pool (default pgxpool's: 4 or the CPU count,
	// whichever is more; or pool_max_conns in the URL). The feed and each
	// elected job hold one more connection each, outside the pool.
	MaxConns int32
}

// DB is an open PostgreSQL store. It is safe for concurrent use; open one per
// process.
type DB struct {
	pool       *pgxpool.Pool
	connConfig *pgx.ConnConfig
	now        func() time.Time
	log        *slog.Logger
	reader     *reader
	elector    *Elector

	stop context.CancelFunc
	bg   sync.WaitGroup

	hub *hub
}

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
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", redact(cfg.ConnConfig), err)
	}
	if _, err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	var start int64
	if err := pool.QueryRow(ctx, "SELECT through FROM changes_pruned").Scan(&start); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: read the feed's start: %w", err)
	}
	db := &DB{
		pool: pool, connConfig: cfg.ConnConfig, now: opts.Now, log: opts.Logger,
		elector: NewElector(cfg.ConnConfig, opts.Logger),
		hub:     newHub(),
	}
	db.reader = newReader(cfg.ConnConfig, start, opts.Logger, db.hub.publish)
	bg, stop := context.WithCancel(context.Background())
	db.stop = stop
	db.bg.Add(1)
	go func() { defer db.bg.Done(); db.reader.run(bg) }()
	return db, nil
}

// redact names the server and database of cfg, without the password.
func redact(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// Close stops following the feed, ends every subscription and closes the pool.
func (db *DB) Close() error {
	db.stop()
	db.bg.Wait()
	db.hub.close()
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
