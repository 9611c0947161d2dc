package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// lazyBegin is the connection of an Update: its transaction starts with its
// first statement, BEGIN going to the server in the same round trip (one
// pipeline) as that statement. A transaction that never runs a statement
// never begins.
type lazyBegin struct {
	conn  *pgx.Conn
	begun bool
}

var _ dbtx = (*lazyBegin)(nil)

func (l *lazyBegin) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if l.begun {
		return l.conn.Exec(ctx, sql, args...)
	}
	l.begun = true
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	var tag pgconn.CommandTag
	b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	err := l.conn.SendBatch(ctx, b).Close()
	return tag, err
}

func (l *lazyBegin) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if l.begun {
		return l.conn.QueryRow(ctx, sql, args...)
	}
	l.begun = true
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sql, args...)
	return beginRow{l.conn.SendBatch(ctx, b)}
}

func (l *lazyBegin) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !l.begun {
		l.begun = true
		if _, err := l.conn.Exec(ctx, "BEGIN"); err != nil {
			return nil, err
		}
	}
	return l.conn.Query(ctx, sql, args...)
}

// beginRow is the row of a BEGIN-and-statement pipeline. Scan reads both
// results and ends the pipeline, as pgx.Row's Scan ends its query.
type beginRow struct{ br pgx.BatchResults }

func (r beginRow) Scan(dest ...any) error {
	if _, err := r.br.Exec(); err != nil {
		_ = r.br.Close()
		return err
	}
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}
