package postgres

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Elector runs jobs that must run on one instance at a time (leader.Elector).
// For each job it opens a connection of its own and takes a session advisory
// lock named after the job with pg_try_advisory_lock; the job runs while the
// lock is held. PostgreSQL releases the lock when the session ends, so when
// the holder dies (process killed, connection cut) another instance's next
// try wins it.
//
// The holder checks its connection every CheckEvery; a job whose connection
// failed is stopped before the connection is dropped. Between a connection's
// death and that check, the old holder's job and a new holder's may overlap
// by up to CheckEvery: jobs run under an Elector must stay correct when run
// twice (the portal's are: the reconciler and the link sweep are idempotent,
// and mail is at least once).
type Elector struct {
	connConfig *pgx.ConnConfig
	log        *slog.Logger
	// TryEvery is how often an instance that does not lead tries again
	// (default 2s); CheckEvery how often a leader checks its connection
	// (default 1s).
	TryEvery, CheckEvery time.Duration

	mu      sync.Mutex
	leading map[string]bool
}

// NewElector returns an Elector that connects with cfg.
func NewElector(cfg *pgx.ConnConfig, log *slog.Logger) *Elector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Elector{connConfig: cfg, log: log, TryEvery: 2 * time.Second, CheckEvery: time.Second, leading: map[string]bool{}}
}

// lockKey maps a job's name to its advisory lock key. The migration lock
// uses lockMigrate; a collision with it would only make a job wait for a
// migration.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("portal job " + name))
	return int64(h.Sum64())
}

// Leading reports whether this instance runs the job name now.
func (e *Elector) Leading(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading[name]
}

func (e *Elector) setLeading(name string, on bool) {
	e.mu.Lock()
	e.leading[name] = on
	e.mu.Unlock()
}

// Run runs job while this instance holds the job's lock, until ctx ends (see
// leader.Elector). If the job returns on its own, Run releases the lock and
// returns.
func (e *Elector) Run(ctx context.Context, name string, job func(context.Context)) {
	key := lockKey(name)
	log := e.log.With("job", name)
	for ctx.Err() == nil {
		conn := e.tryLock(ctx, key, log)
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(e.TryEvery):
			}
			continue
		}
		log.Info("leader: running job on this instance")
		if finished := e.lead(ctx, conn, key, name, job, log); finished {
			return
		}
		// Lost the connection: give the others a turn before trying again.
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.TryEvery):
		}
	}
}

// tryLock returns a connection holding the lock, or nil.
func (e *Elector) tryLock(ctx context.Context, key int64, log *slog.Logger) *pgx.Conn {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, e.connConfig.Copy())
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("leader: cannot connect", "err", err)
		}
		return nil
	}
	var held bool
	if err := conn.QueryRow(cctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&held); err != nil || !held {
		if err != nil && ctx.Err() == nil {
			log.Warn("leader: cannot try the lock", "err", err)
		}
		_ = conn.Close(context.WithoutCancel(cctx))
		return nil
	}
	return conn
}

// lead runs job while conn stays healthy; it reports whether Run is done
// (ctx ended or the job returned on its own).
func (e *Elector) lead(ctx context.Context, conn *pgx.Conn, key int64, name string, job func(context.Context), log *slog.Logger) (finished bool) {
	jctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	e.setLeading(name, true)
	go func() { defer close(done); job(jctx) }()
	defer func() {
		stop()
		<-done
		e.setLeading(name, false)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		// Closing the session releases the lock; unlocking first makes it
		// free at once even if the close is slow to reach the server.
		_, _ = conn.Exec(cctx, "SELECT pg_advisory_unlock($1)", key)
		_ = conn.Close(cctx)
	}()
	tick := time.NewTicker(e.CheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-done:
			return true
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, e.CheckEvery+time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				log.Warn("leader: lost the lock's connection; stopping the job here", "err", err)
				return false
			}
		}
	}
}
