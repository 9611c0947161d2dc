package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/portal/portal/store"
)

// Group commit.
//
// Update hands its function to a runner goroutine (runners of them per
// instance), which takes every caller waiting (at most maxGroup), runs their
// functions one after another in one transaction on one connection, and
// commits them together. Writes whose result nobody needs go to the server
// with the next statement (lazytx.go), so inside a group a webhook's
// transaction costs about one round trip, and one COMMIT (one WAL flush, one
// numbering of the feed, one wake-up) serves the whole group. While a
// group's COMMIT waits for its flush, the next group runs on another
// connection (at most maxCommitting groups at once).
//
// Why: on PostgreSQL an Update costs mostly round trips and the processes
// they wake, not SQL. Alone, a webhook takes three (BEGIN with its first
// statements, the rest, COMMIT with the feed), each waking a backend and the
// caller; in a group the callers share all but one.
//
// Before a function locks an account's row it claims it for its group
// (pgTx.yield); when another group of this instance holds it, the caller
// gives up at once and runs again once that group has ended (at most
// maxYields times, then alone). So groups of one instance never wait for
// each other's locks, and never deadlock. Groups of other instances may hold
// a lock for long: a wait beyond groupLockTimeout fails the statement and
// the caller runs again alone (without a timeout), so a deadlock between
// instances costs groupLockTimeout, not the server's deadlock_timeout.
//
// Outcomes, as if each caller had run alone right after the callers before
// it in its group:
//   - a function's error (or panic) is its caller's. When the caller's
//     writes were all still queued they are dropped and the group goes on;
//     when some reached the server, or the server refused a statement (the
//     transaction is then aborted), the group rolls back and the other
//     callers run again in the next group. (Savepoints would avoid that, at
//     two statements and a subtransaction per caller; failures after a write
//     are rare.)
//   - when the transaction is lost (a queued write the server refused, a
//     broken connection), every caller not answered runs again alone, its
//     own failure then its own; likewise when the server refuses the COMMIT;
//   - when the COMMIT's outcome is unknown (the connection broke during it),
//     every caller gets the error, as one alone would.
//
// A caller that failed saw the writes of the callers before it in its group,
// which then committed or ran again. A function must not call Update itself
// (it would wait for its own group).

const (
	// maxGroup bounds a group, and so how long its locks are held.
	maxGroup = 32
	// runners is how many groups run their functions at once, each on a
	// connection of its own. One is as fast as more on 2 cores (measured:
	// README), and it never yields to itself. maxCommitting bounds the
	// groups running or committing, each holding a connection.
	runners       = 1
	maxCommitting = 4
	// groupLockTimeout: see above. SET LOCAL lasts until the transaction
	// ends; the COMMIT's own statements wait as long as they must.
	groupLockTimeout = "SET LOCAL lock_timeout = '200ms'"
	noLockTimeout    = "SET LOCAL lock_timeout = 0"
	lockNotAvailable = "55P03" // the error of a lock_timeout
)

// groups runs Update's functions in group commits; see above.
type groups struct {
	db    *DB
	calls chan groupCall
	slots chan struct{} // one per group running or committing
	stop  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup // runners and commits
	once  sync.Once

	mu   sync.Mutex
	held map[string]chan struct{} // account → end of the group that locked its row

	waiting atomic.Int32 // callers handing their function over (tests wait for it)
}

type groupCall struct {
	fn   func(store.Tx) error
	done chan groupResult // buffered: never waits for the caller
}

// groupResult is a caller's outcome: after (run fn in a group again once
// that group has ended: see pgTx.yield), alone (run fn again alone), a
// panic, or else fn's error or the engine's (both nil: committed).
type groupResult struct {
	after    <-chan struct{}
	alone    bool
	panicked bool
	panic    any
	fnErr    error
	err      error
}

func newGroups(db *DB) *groups {
	g := &groups{
		db:    db,
		calls: make(chan groupCall),
		slots: make(chan struct{}, maxCommitting),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		held:  make(map[string]chan struct{}),
	}
	g.wg.Add(runners)
	for range runners {
		go g.run()
	}
	go func() { g.wg.Wait(); close(g.done) }()
	return g
}

// maxYields bounds how often a caller yields to another group (see
// pgTx.yield) before it runs alone.
const maxYields = 3

// update runs fn in a group; see DB.Update. ok false: fn must run alone.
func (g *groups) update(fn func(store.Tx) error) (ok bool, err error) {
	for range maxYields {
		r := g.do(fn)
		switch {
		case r.after != nil:
			<-r.after
		case r.panicked:
			panic(r.panic)
		case r.alone:
			return false, nil
		case r.fnErr != nil:
			return true, r.fnErr
		default:
			return true, unavailable(r.err)
		}
	}
	return false, nil
}

// claim records that the group ending with mine locks account id's row,
// unless another group has: then it returns that group's end.
func (g *groups) claim(id string, mine chan struct{}) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.held[id]; ok && ch != mine {
		return ch
	}
	g.held[id] = mine
	return nil
}

// end forgets the claims of the group ending with mine and wakes the callers
// that yielded to it.
func (g *groups) end(mine chan struct{}) {
	g.mu.Lock()
	for id, ch := range g.held {
		if ch == mine {
			delete(g.held, id)
		}
	}
	g.mu.Unlock()
	close(mine)
}

// do runs fn in the next group and returns its outcome.
func (g *groups) do(fn func(store.Tx) error) groupResult {
	c := groupCall{fn: fn, done: make(chan groupResult, 1)}
	g.waiting.Add(1)
	select {
	case g.calls <- c:
		g.waiting.Add(-1)
	case <-g.stop:
		g.waiting.Add(-1)
		return groupResult{err: errClosed}
	}
	return <-c.done
}

// close stops taking callers and returns once every group has committed.
func (g *groups) close() {
	g.once.Do(func() { close(g.stop) })
	<-g.done
}

// run takes a caller, waits for a free slot, takes every other caller
// waiting by then (at most maxGroup) and runs them as one group; then the
// next.
func (g *groups) run() {
	defer g.wg.Done()
	for {
		var first groupCall
		select {
		case first = <-g.calls:
		case <-g.stop:
			return
		}
		g.slots <- struct{}{}
		group := []groupCall{first}
	gather:
		for len(group) < maxGroup {
			select {
			case c := <-g.calls:
				group = append(group, c)
			default:
				break gather
			}
		}
		g.runGroup(group)
	}
}

// runGroup runs the callers' functions in one transaction and starts its
// commit, which frees the slot run took.
func (g *groups) runGroup(calls []groupCall) {
	ctx := context.Background()
	mine := make(chan struct{})
	conn, err := g.db.pool.Acquire(ctx)
	if err != nil {
		<-g.slots
		close(mine)
		for _, c := range calls {
			c.done <- groupResult{err: err}
		}
		return
	}
	claim := func(id string) <-chan struct{} { return g.claim(id, mine) }
	lb := &lazyBegin{conn: conn.Conn()}
	lb.later(groupLockTimeout)
	var (
		ok      []groupCall
		changed []string
	)
	// stop ends the group without committing: nothing of it is kept, the
	// callers that succeeded and those not run yet get r.
	stop := func(rest []groupCall, r groupResult) {
		if lb.begun {
			_, _ = conn.Exec(ctx, "ROLLBACK") // a broken connection is closed on Release
		}
		conn.Release()
		g.end(mine)
		<-g.slots
		for _, c := range slices.Concat(ok, rest) {
			c.done <- r
		}
	}
	for i, c := range calls {
		queued := lb.queued
		t := &pgTx{ctx: ctx, tx: lb, now: g.db.now(), claim: claim}
		fnErr, panicked, p := callFn(c.fn, t)
		if fnErr == nil && t.failed == nil && !panicked {
			ok = append(ok, c)
			changed = append(changed, t.changed...) // a feed entry per caller, as alone
			continue
		}
		failed := t.failed
		var pe *pgconn.PgError
		var pending *pendingError
		switch {
		case t.waitFor != nil && !panicked:
			if failed == errHeld {
				failed = nil // nothing went wrong on the server
			}
			c.done <- groupResult{after: t.waitFor}
		case failed != nil && (errors.As(failed, &pending) || !errors.As(failed, &pe)):
			// A write of a caller before this one failed with this one's
			// statement, or the connection did: the transaction is lost.
			stop(calls[i:], groupResult{alone: true})
			return
		case panicked:
			c.done <- groupResult{panicked: true, panic: p}
		case failed != nil && (retryable(failed) || pe.Code == lockNotAvailable):
			c.done <- groupResult{alone: true}
		case fnErr != nil:
			c.done <- groupResult{fnErr: fnErr}
		default: // fn ignored the engine's error
			c.done <- groupResult{err: failed}
		}
		// The transaction is intact when the server refused nothing and the
		// caller's writes were all still queued: drop them.
		if failed == nil && !t.sentWrite && lb.unqueue(queued) {
			continue
		}
		// Else it holds this caller's writes or is aborted: start again
		// without it.
		stop(calls[i+1:], groupResult{after: again})
		return
	}
	if len(ok) == 0 {
		stop(nil, groupResult{})
		return
	}
	lb.later(noLockTimeout)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		changes, rolledBack, err := commitWithChanges(ctx, lb, changed, g.db.instance)
		conn.Release()
		g.end(mine)
		<-g.slots
		r := groupResult{err: err}
		switch {
		case err == nil:
			g.db.hub.Publish(changes...)
		case rolledBack:
			r = groupResult{alone: true}
		}
		for _, c := range ok {
			c.done <- r
		}
	}()
}

// again is a closed channel: a groupResult.after that runs the caller again
// in the next group at once.
var again = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// callFn runs fn, turning a panic into panicked and its value.
func callFn(fn func(store.Tx) error, t *pgTx) (err error, panicked bool, p any) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked, p = fmt.Errorf("store: panic in transaction: %v", r), true, r
		}
	}()
	return fn(t), false, nil
}
