package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/portal/portal/store"
	"github.com/portal/portal/store/postgres/pgtest"
)

func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two instances starting together on an empty database apply each migration
// once between them, and both end up on the newest schema.
func TestMigrateConcurrentlyOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	applied := make([][]int, 4)
	errs := make([]error, 4)
	for i := range applied {
		pool := newPool(t, url)
		wg.Add(1)
		go func() { defer wg.Done(); applied[i], errs[i] = Migrate(ctx, pool) }()
	}
	wg.Wait()
	var all []int
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		all = append(all, applied[i]...)
	}
	slices.Sort(all)
	ms, _ := loadMigrations()
	var want []int
	for _, m := range ms {
		want = append(want, m.version)
	}
	if !slices.Equal(all, want) {
		t.Fatalf("versions applied across instances = %v, want each of %v once", all, want)
	}
	var n, max int
	if err := newPool(t, url).QueryRow(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(want) || max != SchemaVersion() {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(want), SchemaVersion())
	}
	// Again: nothing to do.
	if again, err := Migrate(ctx, newPool(t, url)); err != nil || len(again) != 0 {
		t.Fatalf("second Migrate = %v, %v; want nothing applied", again, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool := newPool(t, url)
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, pool); err == nil {
		t.Fatal("Migrate on a newer schema succeeded; want a refusal naming the versions")
	}
}

// collector gathers what a reader delivers.
type collector struct {
	mu   sync.Mutex
	seqs []uint64
}

func (c *collector) deliver(ch []store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range ch {
		c.seqs = append(c.seqs, x.Seq)
	}
}

func (c *collector) got() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seqs)
}

// writeChanges numbers ids' changes in tx as a commit does, and queues the
// wake-up (sent if tx commits).
func writeChanges(ctx context.Context, tx pgx.Tx, ids []string) ([]store.Change, error) {
	return writeChangesAs(ctx, tx, ids, "")
}

// writeChangesAs is writeChanges by the instance whose wake-ups carry self.
func writeChangesAs(ctx context.Context, tx pgx.Tx, ids []string, self string) ([]store.Change, error) {
	b := &pgx.Batch{}
	var out []store.Change
	queueNumbering(b, ids, &out)
	b.Queue(notifySQL, self)
	err := tx.SendBatch(ctx, b).Close()
	return out, err
}

func writeChange(ctx context.Context, pool *pgxpool.Pool, account string) (uint64, error) {
	var seq uint64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ch, err := writeChanges(ctx, tx, []string{account})
		if err == nil {
			seq = ch[0].Seq
		}
		return err
	})
	return seq, err
}

// startReader runs a feed reader on a new migrated database until the test
// ends. It polls hourly, so changes reach it only through wake-ups and
// reconnects.
func startReader(t *testing.T) (context.Context, *pgxpool.Pool, *reader, *collector) {
	return startReaderAs(t, "")
}

// startReaderAs is startReader for the instance whose wake-ups carry self.
func startReaderAs(t *testing.T, self string) (context.Context, *pgxpool.Pool, *reader, *collector) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool := newPool(t, url)
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	r := newReader(cfg, 0, self, nil, col.deliver)
	r.poll = time.Hour
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx, pool, r, col
}

// Feed numbers come from a sequence, so a later number can commit before an
// earlier one and a rollback leaves a hole. Readers never skip the earlier
// one: nothing past a number still in flight is read (the horizon waits for
// it), a reader delivers both once it commits, in order, and passes a hole
// once its transaction has rolled back. One account's numbers still commit
// in order: its second writer waits for the first before numbering.
func TestFeedReadsNothingPastANumberInFlight(t *testing.T) {
	ctx, pool, r, col := startReader(t)
	eventually(t, 10*time.Second, "listening connection up", func() bool { return r.PID() != 0 })

	txA, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(ctx)
	chA, err := writeChanges(ctx, txA, []string{"acc_a", "acc_b"})
	if err != nil {
		t.Fatal(err)
	}
	// B takes a later number and commits while A is in flight.
	seqB, err := writeChange(ctx, pool, "acc_c")
	if err != nil {
		t.Fatal(err)
	}
	if chA[0].Seq != 1 || chA[1].Seq != 2 || seqB != 3 {
		t.Fatalf("numbers A %v, B %d; want 1, 2 then 3", chA, seqB)
	}
	// B's row is visible, but no horizon reaches it while A may commit.
	hctx, hcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	h, err := horizon(hctx, pool)
	hcancel()
	if err == nil {
		t.Fatalf("while A is in flight, the horizon is %d; want no answer until A ends", h)
	}
	if got := col.got(); len(got) != 0 {
		t.Fatalf("while A is in flight, the reader delivered %v; want nothing", got)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "A and B delivered", func() bool { return r.Last() >= 3 })
	if got := col.got(); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("delivered %v; want 1, 2, 3", got)
	}

	// A rollback leaves a hole, which the reader passes once it is final.
	txC, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeChanges(ctx, txC, []string{"acc_d"}); err != nil {
		t.Fatal(err)
	}
	if seq, err := writeChange(ctx, pool, "acc_e"); err != nil || seq != 5 {
		t.Fatalf("beside an open number 4 the next is %d (%v), want 5", seq, err)
	}
	txC.Rollback(ctx)
	if _, err := writeChange(ctx, pool, "acc_f"); err != nil { // a wake-up after the rollback
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "5 and 6 delivered", func() bool { return r.Last() >= 6 })
	if got := col.got(); !slices.Equal(got, []uint64{1, 2, 3, 5, 6}) {
		t.Fatalf("delivered %v; want 1, 2, 3, 5, 6", got)
	}
	ch, err := (&DB{pool: pool}).changesForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch, []uint64{1, 2, 3, 5, 6}) {
		t.Fatalf("Changes(0) = %v; want 1, 2, 3, 5, 6", ch)
	}

	// One account: the second writer waits for the first to commit.
	txD, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txD.Rollback(ctx)
	chD, err := writeChanges(ctx, txD, []string{"acc_x"})
	if err != nil {
		t.Fatal(err)
	}
	eDone := make(chan uint64, 1)
	go func() {
		seq, err := writeChange(ctx, pool, "acc_x")
		if err != nil {
			t.Error(err)
		}
		eDone <- seq
	}()
	eventually(t, 10*time.Second, "E waits for D's account lock", func() bool {
		var waiting bool
		_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting)
		return waiting
	})
	if err := txD.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if seqE := <-eDone; chD[0].Seq != 7 || seqE != 8 {
		t.Fatalf("one account's numbers: D %d, E %d; want 7 then 8", chD[0].Seq, seqE)
	}
}

// changesForTest is Changes(0) as seqs.
func (db *DB) changesForTest(ctx context.Context) ([]uint64, error) {
	through, err := horizon(ctx, db.pool)
	if err != nil {
		return nil, err
	}
	ch, err := readChanges(ctx, db.pool, 0, through, 100)
	var out []uint64
	for _, c := range ch {
		out = append(out, c.Seq)
	}
	return out, err
}

// Many writers at once: every change is delivered once, in seq order, with
// the listening connection killed now and then (pg_terminate_backend): what
// committed while it was down comes on reconnect.
func TestFeedReaderCatchesUpAfterTerminate(t *testing.T) {
	ctx, pool, r, col := startReader(t)

	const writers, each = 4, 50
	var wrote atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := writeChange(ctx, pool, fmt.Sprint("acc_", w)); err != nil {
					t.Error(err)
					return
				}
				wrote.Add(1)
			}
		}()
	}
	kills := 0
	for wrote.Load() < writers*each && kills < 5 {
		if pid := r.PID(); pid != 0 && wrote.Load() > int64(kills*30) {
			if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
			kills++
		}
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	// And one more kill once everything is written, so the last changes
	// arrive through a reconnect rather than a wake-up.
	eventually(t, 10*time.Second, "listening connection up", func() bool { return r.PID() != 0 })
	if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", r.PID()); err != nil {
		t.Fatal(err)
	}
	const last = writers * each
	eventually(t, 20*time.Second, "every change delivered", func() bool { return r.Last() >= last })
	got := col.got()
	want := make([]uint64, 0, last)
	for i := uint64(1); i <= last; i++ {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d changes %v…; want 1..%d once each in order (kills: %d)", len(got), got[:min(len(got), 20)], last, kills)
	}
}

// One instance runs an elected job at a time. When the holder's connection
// is cut (pg_terminate_backend), its job stops there and the job runs again
// on one instance; when the holder stops, the other takes over.
func TestElectorHandsOver(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool := newPool(t, url)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	var maxRunning atomic.Int32
	var running atomic.Int32
	type instance struct {
		e      *Elector
		stop   context.CancelFunc
		done   chan struct{}
		runs   atomic.Int32
		inside atomic.Bool
	}
	insts := make([]*instance, 2)
	for i := range insts {
		in := &instance{e: NewElector(cfg, nil), done: make(chan struct{})}
		in.e.TryEvery, in.e.CheckEvery = 20*time.Millisecond, 20*time.Millisecond
		var ictx context.Context
		ictx, in.stop = context.WithCancel(ctx)
		insts[i] = in
		go func() {
			defer close(in.done)
			in.e.Run(ictx, "reconciler", func(jctx context.Context) {
				in.runs.Add(1)
				in.inside.Store(true)
				n := running.Add(1)
				for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
				}
				<-jctx.Done()
				running.Add(-1)
				in.inside.Store(false)
			})
		}()
	}
	t.Cleanup(func() {
		for _, in := range insts {
			in.stop()
			<-in.done
		}
	})
	leader := func() int {
		l := -1
		for i, in := range insts {
			if in.e.Leading("reconciler") {
				if l >= 0 {
					return -2
				}
				l = i
			}
		}
		return l
	}
	eventually(t, 10*time.Second, "one instance leads", func() bool { return leader() >= 0 })
	first := leader()
	// Steady state: the same one, alone, over many of the other's tries.
	for range 10 {
		time.Sleep(20 * time.Millisecond)
		if l := leader(); l != first || maxRunning.Load() != 1 {
			t.Fatalf("leader moved to %d (max running %d) without a failure", l, maxRunning.Load())
		}
	}

	var pid int32
	err = pool.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND ((classid::bigint << 32) | objid::bigint) = $1`, lockKey("reconciler")).Scan(&pid)
	if err != nil {
		t.Fatalf("find the lock holder's session: %v", err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the job runs again after its connection was cut", func() bool {
		return insts[0].runs.Load()+insts[1].runs.Load() == 2 && running.Load() == 1 && leader() >= 0
	})
	holder := leader()
	if insts[1-holder].inside.Load() {
		t.Fatalf("instance %d still runs the job after losing its lock", 1-holder)
	}

	insts[holder].stop()
	<-insts[holder].done
	other := 1 - holder
	eventually(t, 10*time.Second, "the other instance takes over when the holder stops", func() bool {
		return leader() == other && insts[other].inside.Load()
	})
	if running.Load() != 1 {
		t.Fatalf("%d jobs running, want 1", running.Load())
	}
}

// A reader does not read after its own instance's wake-ups (that instance
// published those changes as it committed), and reads them with the next
// wake-up of another instance.
func TestReaderSkipsItsOwnWakeUps(t *testing.T) {
	ctx, pool, r, col := startReaderAs(t, "me")
	eventually(t, 10*time.Second, "the first read", func() bool { return r.reads.Load() == 1 })
	write := func(self string) {
		t.Helper()
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := writeChangesAs(ctx, tx, []string{"acc_1"}, self)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write("me")
	eventually(t, 10*time.Second, "its own wake-up skipped", func() bool { return r.skipped.Load() == 1 })
	if n, got := r.reads.Load(), col.got(); n != 1 || len(got) != 0 {
		t.Fatalf("after its own wake-up: %d reads, delivered %v; want 1 read, nothing", n, got)
	}
	write("other")
	eventually(t, 10*time.Second, "both changes delivered", func() bool { return len(col.got()) == 2 })
	if got := col.got(); got[0] != 1 || got[1] != 2 {
		t.Errorf("delivered %v, want [1 2]", got)
	}
}
