package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// lazyBegin is the connection of an Update, which pipelines what it can so
// that an Update costs few round trips:
//   - its transaction starts with its first statement, BEGIN going to the
//     server in the same round trip (one pipeline) as that statement; a
//     transaction that never runs a statement never begins;
//   - a write whose result the caller does not need and that can fail only
//     when the engine does (see pgTx.execLater) is queued, and goes with the
//     next statement or with the COMMIT. Its error, if any, is that
//     statement's (or the COMMIT's), and the transaction cannot commit.
//
// Statements reach the server in the order they were issued, so a read sees
// every write queued before it.
type lazyBegin struct {
	conn    *pgx.Conn
	begun   bool        // BEGIN was sent (or is in the pipeline being sent)
	pending []queuedSQL // writes not sent yet, in order
	// queued and sent count the writes ever queued and sent: the writes
	// queued after queued was n are all still pending while sent <= n.
	queued, sent int
}

type queuedSQL struct {
	sql  string
	args []any
}

var _ dbtx = (*lazyBegin)(nil)

// later queues a write for the next round trip.
func (l *lazyBegin) later(sql string, args ...any) {
	l.pending = append(l.pending, queuedSQL{sql, args})
	l.queued++
}

// unqueue drops the writes queued since queued was n, if none of them was
// sent, and reports whether it did.
func (l *lazyBegin) unqueue(n int) bool {
	if l.sent > n {
		return false
	}
	l.pending = l.pending[:len(l.pending)-(l.queued-n)]
	l.queued = n
	return true
}

// started reports whether the transaction has a statement, sent or queued.
func (l *lazyBegin) started() bool { return l.begun || len(l.pending) > 0 }

// prefix queues on b what must reach the server before the next statement:
// BEGIN if not sent yet, and the queued writes. It returns how many
// statements it queued; their results come first from b.
func (l *lazyBegin) prefix(b *pgx.Batch) int {
	n := 0
	if !l.begun {
		l.begun = true
		b.Queue("BEGIN")
		n++
	}
	for _, q := range l.pending {
		b.Queue(q.sql, q.args...)
		n++
	}
	l.sent += len(l.pending)
	l.pending = nil
	return n
}

func (l *lazyBegin) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if l.begun && len(l.pending) == 0 {
		return l.conn.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	n := l.prefix(b)
	b.Queue(sql, args...)
	br := l.conn.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	err := execPrefix(br, n)
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (l *lazyBegin) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if l.begun && len(l.pending) == 0 {
		return l.conn.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	n := l.prefix(b)
	b.Queue(sql, args...)
	return prefixedRow{l.conn.SendBatch(ctx, b), n}
}

func (l *lazyBegin) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if l.begun && len(l.pending) == 0 {
		return l.conn.Query(ctx, sql, args...)
	}
	// Rare in an Update (listings): the prefix takes a round trip of its own.
	b := &pgx.Batch{}
	n := l.prefix(b)
	br := l.conn.SendBatch(ctx, b)
	err := execPrefix(br, n)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = &pendingError{cerr}
	}
	if err != nil {
		return nil, err
	}
	return l.conn.Query(ctx, sql, args...)
}

// prefixedRow is the row of a pipeline of n statements (BEGIN, queued
// writes) and then the query. Scan reads them all and ends the pipeline, as
// pgx.Row's Scan ends its query; the first error wins.
type prefixedRow struct {
	br pgx.BatchResults
	n  int
}

func (r prefixedRow) Scan(dest ...any) error {
	if err := execPrefix(r.br, r.n); err != nil {
		_ = r.br.Close()
		return err
	}
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// execThenScan runs a write (returning its command tag) and then a one-row
// query, in one round trip after the prefix. err is the write's (or the
// prefix's) error; when it is nil, scanErr is the query's (pgx.ErrNoRows
// when it found no row).
func (l *lazyBegin) execThenScan(ctx context.Context, write string, wargs []any, query string, qargs []any, dest ...any) (tag pgconn.CommandTag, err, scanErr error) {
	b := &pgx.Batch{}
	n := l.prefix(b)
	b.Queue(write, wargs...)
	b.Queue(query, qargs...)
	br := l.conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && scanErr == nil && cerr != nil {
			err = cerr
		}
	}()
	if err = execPrefix(br, n); err != nil {
		return tag, err, nil
	}
	if tag, err = br.Exec(); err != nil {
		return tag, err, nil
	}
	return tag, nil, br.QueryRow().Scan(dest...)
}

// execPrefix reads the results of the n prefix statements at the head of br
// (see prefix). The first error is returned as a *pendingError: it is not
// the statement being run that failed, but BEGIN, a savepoint or a write
// queued before it, perhaps by an earlier caller of a group (group.go).
func execPrefix(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			return &pendingError{err}
		}
	}
	return nil
}

// pendingError is the error of a statement sent ahead of another: BEGIN, a
// savepoint command or a queued write.
type pendingError struct{ err error }

func (e *pendingError) Error() string { return e.err.Error() }
func (e *pendingError) Unwrap() error { return e.err }
