package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portal/portal/store"
)

// PutLink stores target under token until expires; store.ErrLinkTaken when
// the token is stored, expired or not.
func (db *DB) PutLink(token, target string, expires time.Time) error {
	if token == "" || target == "" {
		return errors.New("store: put link: empty token or target")
	}
	if db.closed.Load() {
		return unavailable(errClosed)
	}
	tag, err := db.pool.Exec(context.Background(), `INSERT INTO links (token, target, expires_ns) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO NOTHING`, token, target, expires.UnixNano())
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrLinkTaken
	}
	return nil
}

// Link returns the target of token while now is before its expiry; an
// unknown or expired token is store.ErrNotFound.
func (db *DB) Link(token string, now time.Time) (string, error) {
	if db.closed.Load() {
		return "", unavailable(errClosed)
	}
	var target string
	var exp int64
	err := db.pool.QueryRow(context.Background(), "SELECT target, expires_ns FROM links WHERE token = $1", token).Scan(&target, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", unavailable(err)
	}
	if !now.Before(time.Unix(0, exp)) {
		return "", store.ErrNotFound
	}
	return target, nil
}

// DeleteExpiredLinks removes the links expired at now and says how many.
func (db *DB) DeleteExpiredLinks(now time.Time) (int, error) {
	if db.closed.Load() {
		return 0, unavailable(errClosed)
	}
	tag, err := db.pool.Exec(context.Background(), "DELETE FROM links WHERE expires_ns <= $1", now.UnixNano())
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}
