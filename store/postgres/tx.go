package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/portal/portal/store"
)

// pgTx is the engine's store.Tx (and ReadTx, in a read-only transaction).
//
// Expected refusals (email taken, key taken, …) are checked with a read
// before the write, so they leave the transaction usable as on bbolt; the
// unique constraints remain the backstop when another instance wins a race
// between the check and the write. Any database error is kept in failed:
// PostgreSQL aborts the transaction on one, so it cannot commit.
type pgTx struct {
	ctx     context.Context
	tx      dbtx
	now     time.Time
	changed []string // accounts changed, in first-change order
	// held is the stored JSON of each account whose row this transaction
	// has locked (or created), as it now stands: no other transaction can
	// change it before this one ends, so it is read once.
	held   map[string][]byte
	failed error
	// claim, in a group (group.go), claims account id's row for the group,
	// or returns the end of the other group of this instance that holds it;
	// waitFor is the one this transaction gave up for.
	claim   func(id string) <-chan struct{}
	waitFor <-chan struct{}
	// sentWrite: a write of this transaction went to the server (queued
	// writes not sent yet can still be dropped: lazyBegin.unqueue).
	sentWrite bool
}

// errHeld: see pgTx.yield.
var errHeld = errors.New("postgres: account held by another group; run again after it")

// yield claims account id's row for the transaction's group before it locks
// it, or reports (with errHeld, also kept in failed) that another group of
// this instance holds it. Waiting for that lock here would hold up this
// caller's whole group, and two groups could wait for each other; the caller
// runs again once the other group has ended instead.
func (t *pgTx) yield(id string) error {
	if t.claim == nil {
		return nil
	}
	ch := t.claim(id)
	if ch == nil {
		return nil
	}
	t.waitFor = ch
	if t.failed == nil {
		t.failed = errHeld
	}
	return unavailable(errHeld)
}

// hold records data as account id's row, locked by this transaction.
func (t *pgTx) hold(id string, data []byte) {
	if t.held == nil {
		t.held = make(map[string][]byte)
	}
	t.held[id] = data
}

var _ store.Tx = (*pgTx)(nil)

// dbtx is a connection inside a transaction: a pgx.Tx (View) or a pooled
// connection after BEGIN (Update, which commits by hand; see update).
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (t *pgTx) markChanged(accountID string) {
	if !slices.Contains(t.changed, accountID) {
		t.changed = append(t.changed, accountID)
	}
}

// fail records a database error and returns what the caller should see: a
// store sentinel for the unique constraints, else ErrUnavailable.
func (t *pgTx) fail(err error) error {
	if t.failed == nil {
		t.failed = err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		switch pe.ConstraintName {
		case "accounts_email_key":
			return store.ErrEmailTaken
		case "account_keys_pkey":
			return store.ErrKeyTaken
		case "accounts_customer_key":
			return store.ErrCustomerTaken
		}
	}
	return unavailable(err)
}

// execLater runs a write whose command tag nobody needs and that can fail
// only when the engine does (no constraint it could break that a read before
// it has not ruled out): in an Update it goes to the server with the next
// statement or the COMMIT (lazytx.go), whose error is then its error.
func (t *pgTx) execLater(sql string, args ...any) error {
	if lb, ok := t.tx.(*lazyBegin); ok {
		lb.later(sql, args...)
		return nil
	}
	_, err := t.exec(sql, args...)
	return err
}

func (t *pgTx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	t.sentWrite = true
	tag, err := t.tx.Exec(t.ctx, sql, args...)
	if err != nil {
		return tag, t.fail(err)
	}
	return tag, nil
}

// getJSON scans the one JSON column of the first row into v: ErrNotFound
// when there is no row.
func (t *pgTx) getJSON(v any, sql string, args ...any) error {
	var data []byte
	err := t.tx.QueryRow(t.ctx, sql, args...).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return t.fail(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("store: decode record: %w", err)
	}
	return nil
}

// listJSON scans the one JSON column of every row into a T each.
func listJSON[T any](t *pgTx, sql string, args ...any) ([]T, error) {
	rows, err := t.tx.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, t.fail(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, t.fail(err)
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("store: decode record: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(err)
	}
	return out, nil
}

func (t *pgTx) exists(sql string, args ...any) (bool, error) {
	var ok bool
	if err := t.tx.QueryRow(t.ctx, "SELECT EXISTS ("+sql+")", args...).Scan(&ok); err != nil {
		return false, t.fail(err)
	}
	return ok, nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

var errPutLinkCode = errors.New("store: put link code: code, account id and expiry are required")

// limitArg is a LIMIT parameter: NULL (no limit) when limit <= 0.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// nullIfEmpty stores "" as NULL, for unique columns where "" means none.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// newID returns prefix followed by 16 lowercase hex characters, as bbolt's.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func jsonOf(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode: %w", err)
	}
	return b, nil
}

// Accounts.

// CreateAccount registers a new account with one key; see store.Tx.
func (t *pgTx) CreateAccount(email string, key store.Key) (store.Account, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return store.Account{}, errors.New("store: create account: empty email")
	}
	if key.Fingerprint == "" {
		return store.Account{}, errors.New("store: create account: key without fingerprint")
	}
	if key.AddedAt.IsZero() {
		key.AddedAt = t.now
	}
	a := store.Account{ID: newID("acc_"), Email: email, CreatedAt: t.now, Keys: []store.Key{key}, UpdatedAt: t.now, Version: 1}
	var emailTaken, keyTaken bool
	err := t.tx.QueryRow(t.ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(email) = lower($1)),
		EXISTS (SELECT 1 FROM account_keys WHERE fingerprint = $2)`, email, key.Fingerprint).Scan(&emailTaken, &keyTaken)
	switch {
	case err != nil:
		return store.Account{}, t.fail(err)
	case emailTaken:
		return store.Account{}, store.ErrEmailTaken
	case keyTaken:
		return store.Account{}, store.ErrKeyTaken
	}
	data, err := jsonOf(&a)
	if err != nil {
		return store.Account{}, err
	}
	if _, err := t.exec("INSERT INTO accounts (id, email, data, trial_end_ns) VALUES ($1, $2, $3, $4)", a.ID, a.Email, data, trialEndNs(&a)); err != nil {
		return store.Account{}, err
	}
	if _, err := t.exec("INSERT INTO account_keys (fingerprint, account_id) VALUES ($1, $2)", key.Fingerprint, a.ID); err != nil {
		return store.Account{}, err
	}
	t.markChanged(a.ID)
	t.hold(a.ID, data)
	return a, nil
}

// Account returns the account with the given id, or ErrNotFound.
func (t *pgTx) Account(id string) (store.Account, error) {
	var a store.Account
	err := t.getJSON(&a, "SELECT data FROM accounts WHERE id = $1", id)
	return a, err
}

// lockAccount reads the account and locks its row until the transaction
// ends: the serialisation of changes to one account across instances.
func (t *pgTx) lockAccount(id string) (store.Account, error) {
	var a store.Account
	data, ok := t.held[id]
	if !ok {
		if err := t.yield(id); err != nil {
			return a, err
		}
		err := t.tx.QueryRow(t.ctx, lockAccountSQL, id).Scan(&data)
		if isNoRows(err) {
			return a, store.ErrNotFound
		}
		if err != nil {
			return a, t.fail(err)
		}
		t.hold(id, data)
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return a, fmt.Errorf("store: decode record: %w", err)
	}
	return a, nil
}

const lockAccountSQL = "SELECT data FROM accounts WHERE id = $1 FOR UPDATE"

// AccountByKey returns the account holding the key fingerprint.
func (t *pgTx) AccountByKey(fingerprint string) (store.Account, error) {
	var a store.Account
	if fingerprint == "" {
		return a, store.ErrNotFound
	}
	err := t.getJSON(&a, "SELECT a.data FROM account_keys k JOIN accounts a ON a.id = k.account_id WHERE k.fingerprint = $1", fingerprint)
	return a, err
}

// AccountByEmail returns the account using email (trimmed, case-insensitive).
func (t *pgTx) AccountByEmail(email string) (store.Account, error) {
	var a store.Account
	email = strings.TrimSpace(email)
	if email == "" {
		return a, store.ErrNotFound
	}
	err := t.getJSON(&a, "SELECT data FROM accounts WHERE lower(email) = lower($1)", email)
	return a, err
}

// AccountByCustomer returns the account linked to the Stripe customer id.
func (t *pgTx) AccountByCustomer(customerID string) (store.Account, error) {
	var a store.Account
	if customerID == "" {
		return a, store.ErrNotFound
	}
	err := t.getJSON(&a, "SELECT data FROM accounts WHERE customer_id = $1", customerID)
	return a, err
}

// AddKey adds key to the account; see store.Tx.
func (t *pgTx) AddKey(accountID string, key store.Key) (store.Account, error) {
	if key.Fingerprint == "" {
		return store.Account{}, errors.New("store: add key: key without fingerprint")
	}
	if key.AddedAt.IsZero() {
		key.AddedAt = t.now
	}
	a, err := t.lockAccount(accountID)
	if err != nil {
		return store.Account{}, err
	}
	if taken, err := t.exists("SELECT 1 FROM account_keys WHERE fingerprint = $1", key.Fingerprint); err != nil || taken {
		if err == nil {
			err = store.ErrKeyTaken
		}
		return store.Account{}, err
	}
	if _, err := t.exec("INSERT INTO account_keys (fingerprint, account_id) VALUES ($1, $2)", key.Fingerprint, a.ID); err != nil {
		return store.Account{}, err
	}
	old := a
	a.Keys = append(slices.Clone(a.Keys), key)
	a.Version++
	a.UpdatedAt = t.now
	if err := t.putAccount(a, old); err != nil {
		return store.Account{}, err
	}
	t.markChanged(a.ID)
	return a, nil
}

// putAccount stores a, the new version of old (whose row is locked). When
// neither its email nor its customer changed, no unique index can refuse it
// and the write goes with the next statement (execLater).
func (t *pgTx) putAccount(a, old store.Account) error {
	data, err := jsonOf(&a)
	if err != nil {
		return err
	}
	const sql = "UPDATE accounts SET email = $2, customer_id = $3, data = $4, trial_end_ns = $5 WHERE id = $1"
	args := []any{a.ID, a.Email, nullIfEmpty(a.CustomerID), data, trialEndNs(&a)}
	if strings.EqualFold(a.Email, old.Email) && a.CustomerID == old.CustomerID {
		err = t.execLater(sql, args...)
	} else {
		_, err = t.exec(sql, args...)
	}
	if err == nil {
		t.hold(a.ID, data)
	}
	return err
}

// UpdateAccount runs fn on a copy of the account (its row locked) and stores
// the result; see store.Tx.
func (t *pgTx) UpdateAccount(id string, fn func(*store.Account) error) (store.Account, error) {
	old, err := t.lockAccount(id)
	if err != nil {
		return store.Account{}, err
	}
	a := old
	a.Keys = slices.Clone(old.Keys)
	if err := fn(&a); err != nil {
		return store.Account{}, err
	}
	a.ID, a.Keys, a.CreatedAt = old.ID, old.Keys, old.CreatedAt
	a.Version = old.Version + 1
	a.UpdatedAt = t.now
	a.Email = strings.TrimSpace(a.Email)
	if a.Email == "" {
		return store.Account{}, errors.New("store: update account: empty email")
	}
	if !strings.EqualFold(a.Email, old.Email) {
		if taken, err := t.exists("SELECT 1 FROM accounts WHERE lower(email) = lower($1) AND id <> $2", a.Email, a.ID); err != nil || taken {
			if err == nil {
				err = store.ErrEmailTaken
			}
			return store.Account{}, err
		}
	}
	if a.CustomerID != old.CustomerID && a.CustomerID != "" {
		if taken, err := t.exists("SELECT 1 FROM accounts WHERE customer_id = $1 AND id <> $2", a.CustomerID, a.ID); err != nil || taken {
			if err == nil {
				err = store.ErrCustomerTaken
			}
			return store.Account{}, err
		}
	}
	if err := t.putAccount(a, old); err != nil {
		return store.Account{}, err
	}
	t.markChanged(a.ID)
	return a, nil
}

// ForEachAccount visits accounts in id order until fn returns false.
func (t *pgTx) ForEachAccount(fn func(store.Account) bool) error {
	rows, err := t.tx.Query(t.ctx, `SELECT data FROM accounts ORDER BY id COLLATE "C"`)
	if err != nil {
		return t.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return t.fail(err)
		}
		var a store.Account
		if err := json.Unmarshal(data, &a); err != nil {
			return fmt.Errorf("store: decode account: %w", err)
		}
		if !fn(a) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return t.fail(err)
	}
	return nil
}

// CountAccounts returns the number of accounts.
func (t *pgTx) CountAccounts() (int, error) {
	var n int
	if err := t.tx.QueryRow(t.ctx, "SELECT count(*) FROM accounts").Scan(&n); err != nil {
		return 0, t.fail(err)
	}
	return n, nil
}

// Events.

// RecordEvent stores the record of a Stripe event; see store.Tx. Two
// instances recording one event id at once: the second waits for the
// first's commit, then sees its record (a duplicate if final).
func (t *pgTx) RecordEvent(ev store.Event) (dup bool, err error) {
	if ev.ID == "" {
		return false, errors.New("store: record event: empty event id")
	}
	if ev.Status == "" {
		ev.Status = store.EventStatusProcessed
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = t.now
	}
	data, err := jsonOf(&ev)
	if err != nil {
		return false, err
	}
	const insert = `INSERT INTO events (id, account_id, received_ns, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`
	args := []any{ev.ID, nullIfEmpty(ev.AccountID), ev.ReceivedAt.UnixNano(), data}
	var tag pgconn.CommandTag
	if _, held := t.held[ev.AccountID]; ev.AccountID != "" && !held {
		if err := t.yield(ev.AccountID); err != nil {
			return false, err
		}
		// The event is the account's: the webhook updates the account
		// next, so its row is locked and read in this round trip.
		tag, err = t.recordAndLock(insert, args, ev.AccountID)
	} else {
		tag, err = t.exec(insert, args...)
	}
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		var old store.Event
		if err := t.getJSON(&old, "SELECT data FROM events WHERE id = $1 FOR UPDATE", ev.ID); err != nil {
			return false, err
		}
		if old.Status.Final() {
			old.Duplicates++
			return true, t.putEvent(old)
		}
		ev.Duplicates = old.Duplicates
		if err := t.putEvent(ev); err != nil {
			return false, err
		}
	}
	if ev.AccountID != "" {
		t.markChanged(ev.AccountID) // the ops view shows the account's webhook log
	}
	return false, nil
}

// recordAndLock runs insert and, in the same round trip, locks and reads
// account id's row (see lockAccount), when the transaction is an Update's.
// An account not found is simply not held.
func (t *pgTx) recordAndLock(insert string, args []any, id string) (pgconn.CommandTag, error) {
	lb, ok := t.tx.(*lazyBegin)
	if !ok {
		return t.exec(insert, args...)
	}
	var data []byte
	t.sentWrite = true
	tag, err, scanErr := lb.execThenScan(t.ctx, insert, args, lockAccountSQL, []any{id}, &data)
	switch {
	case err != nil:
		return tag, t.fail(err)
	case scanErr == nil:
		t.hold(id, data)
	case !isNoRows(scanErr):
		return tag, t.fail(scanErr)
	}
	return tag, nil
}

func (t *pgTx) putEvent(ev store.Event) error {
	data, err := jsonOf(&ev)
	if err != nil {
		return err
	}
	return t.execLater("UPDATE events SET account_id = $2, received_ns = $3, data = $4 WHERE id = $1",
		ev.ID, nullIfEmpty(ev.AccountID), ev.ReceivedAt.UnixNano(), data)
}

// Event returns the record of event id, or ErrNotFound.
func (t *pgTx) Event(id string) (store.Event, error) {
	var ev store.Event
	err := t.getJSON(&ev, "SELECT data FROM events WHERE id = $1", id)
	return ev, err
}

// Events returns up to limit events, newest first by ReceivedAt; of one
// account when accountID != "".
func (t *pgTx) Events(accountID string, limit int) ([]store.Event, error) {
	if accountID == "" {
		return listJSON[store.Event](t, `SELECT data FROM events ORDER BY received_ns DESC, id COLLATE "C" DESC LIMIT $1`, limitArg(limit))
	}
	return listJSON[store.Event](t, `SELECT data FROM events WHERE account_id = $1 ORDER BY received_ns DESC, id COLLATE "C" DESC LIMIT $2`, accountID, limitArg(limit))
}

// Notices.

// AddNotice stores n unless its (AccountID, Kind, Key) exists; see store.Tx.
func (t *pgTx) AddNotice(n store.Notice) (store.Notice, bool, error) {
	n, args, err := t.newNotice(n)
	if err != nil {
		return store.Notice{}, false, err
	}
	tag, err := t.exec(insertNoticeSQL, args...)
	if err != nil {
		return store.Notice{}, false, err
	}
	if tag.RowsAffected() == 0 {
		var old store.Notice
		err := t.getJSON(&old, "SELECT data FROM notices WHERE account_id = $1 AND kind = $2 AND key = $3", n.AccountID, string(n.Kind), n.Key)
		return old, false, err
	}
	t.markChanged(n.AccountID)
	return n, true, nil
}

// EnsureNotice is AddNotice without its results; see store.Tx. Its insert
// goes with the next statement or the commit (execLater): its conflict
// clause and the account's check make it fail only when the engine does.
func (t *pgTx) EnsureNotice(n store.Notice) error {
	n, args, err := t.newNotice(n)
	if err != nil {
		return err
	}
	if err := t.execLater(insertNoticeSQL, args...); err != nil {
		return err
	}
	t.markChanged(n.AccountID)
	return nil
}

const insertNoticeSQL = `INSERT INTO notices (id, account_id, kind, key, data) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (account_id, kind, key) DO NOTHING`

// newNotice checks n and its account (which must exist: ErrNotFound) and
// returns it as a new notice, with insertNoticeSQL's arguments.
func (t *pgTx) newNotice(n store.Notice) (store.Notice, []any, error) {
	if n.AccountID == "" || n.Kind == "" {
		return n, nil, errors.New("store: add notice: account id and kind are required")
	}
	n.ID = newID("ntc_")
	if n.CreatedAt.IsZero() {
		n.CreatedAt = t.now
	}
	n.MailedAt, n.MailTries, n.MailError, n.MailNextAt = time.Time{}, 0, "", time.Time{}
	// An account this transaction locked or created exists until it ends.
	if _, held := t.held[n.AccountID]; !held {
		if ok, err := t.exists("SELECT 1 FROM accounts WHERE id = $1", n.AccountID); err != nil || !ok {
			if err == nil {
				err = store.ErrNotFound
			}
			return n, nil, err
		}
	}
	data, err := jsonOf(&n)
	if err != nil {
		return n, nil, err
	}
	return n, []any{n.ID, n.AccountID, string(n.Kind), n.Key, data}, nil
}

// Notice returns the notice with id, or ErrNotFound.
func (t *pgTx) Notice(id string) (store.Notice, error) {
	var n store.Notice
	err := t.getJSON(&n, "SELECT data FROM notices WHERE id = $1", id)
	return n, err
}

// Notices returns the account's notices, newest first.
func (t *pgTx) Notices(accountID string) ([]store.Notice, error) {
	if accountID == "" {
		return nil, nil
	}
	return listJSON[store.Notice](t, "SELECT data FROM notices WHERE account_id = $1 ORDER BY seq DESC", accountID)
}

// Outbox returns the notices not yet mailed, oldest first.
func (t *pgTx) Outbox() ([]store.Notice, error) {
	return listJSON[store.Notice](t, "SELECT data FROM notices WHERE NOT mailed ORDER BY seq")
}

// MailPage returns a page of every notice's mail, newest first; see
// store.ReadTx. The cursor is the notice's seq.
func (t *pgTx) MailPage(before string, limit int) ([]store.Notice, string, error) {
	return pageJSON[store.Notice](t, before, limit,
		"SELECT seq, data FROM notices WHERE seq < $1 ORDER BY seq DESC LIMIT $2")
}

func (t *pgTx) putNotice(n store.Notice) error {
	data, err := jsonOf(&n)
	if err != nil {
		return err
	}
	return t.execLater("UPDATE notices SET mailed = $2, data = $3 WHERE id = $1", n.ID, !n.MailedAt.IsZero(), data)
}

// MarkMailed records a mail attempt of notice id; see store.Tx.
func (t *pgTx) MarkMailed(id string, at time.Time, mailErr error, retryAt time.Time) error {
	var n store.Notice
	if err := t.getJSON(&n, "SELECT data FROM notices WHERE id = $1 FOR UPDATE", id); err != nil {
		return err
	}
	n.RecordMailAttempt(at, mailErr, retryAt)
	return t.putNotice(n)
}

// Requeue puts the notice back in the outbox, due at once; see store.Tx.
func (t *pgTx) Requeue(id string) (store.Notice, error) {
	var n store.Notice
	if err := t.getJSON(&n, "SELECT data FROM notices WHERE id = $1 FOR UPDATE", id); err != nil {
		return store.Notice{}, err
	}
	n.MailedAt, n.MailTries, n.MailError, n.MailNextAt = time.Time{}, 0, "", time.Time{}
	if err := t.putNotice(n); err != nil {
		return store.Notice{}, err
	}
	t.markChanged(n.AccountID)
	return n, nil
}

// DismissNotice hides the banner of notice id for good; see store.Tx.
func (t *pgTx) DismissNotice(accountID, id string, at time.Time) error {
	var n store.Notice
	if err := t.getJSON(&n, "SELECT data FROM notices WHERE id = $1 AND account_id = $2 FOR UPDATE", id, accountID); err != nil {
		return err
	}
	if !n.DismissedAt.IsZero() {
		return nil
	}
	n.DismissedAt = at
	if err := t.putNotice(n); err != nil {
		return err
	}
	t.markChanged(accountID)
	return nil
}

// Audit.

// AppendAudit stores e with a new ID; see store.Tx.
func (t *pgTx) AppendAudit(e store.AuditEntry) (store.AuditEntry, error) {
	if e.Action == "" {
		return store.AuditEntry{}, errors.New("store: append audit: empty action")
	}
	e.ID = newID("aud_")
	if e.At.IsZero() {
		e.At = t.now
	}
	data, err := jsonOf(&e)
	if err != nil {
		return store.AuditEntry{}, err
	}
	if err := t.execLater("INSERT INTO audit (account_id, data) VALUES ($1, $2)", e.AccountID, data); err != nil {
		return store.AuditEntry{}, err
	}
	return e, nil
}

// Audit returns up to limit entries, newest first; of one account, or of all
// when accountID is "".
func (t *pgTx) Audit(accountID string, limit int) ([]store.AuditEntry, error) {
	if accountID == "" {
		return listJSON[store.AuditEntry](t, "SELECT data FROM audit ORDER BY seq DESC LIMIT $1", limitArg(limit))
	}
	return listJSON[store.AuditEntry](t, "SELECT data FROM audit WHERE account_id = $1 ORDER BY seq DESC LIMIT $2", accountID, limitArg(limit))
}

// AuditPage returns one page of Audit and the cursor of the next; see
// store.ReadTx. The cursor is the entry's seq.
func (t *pgTx) AuditPage(accountID, before string, limit int) ([]store.AuditEntry, string, error) {
	if accountID == "" {
		return pageJSON[store.AuditEntry](t, before, limit,
			"SELECT seq, data FROM audit WHERE seq < $1 ORDER BY seq DESC LIMIT $2")
	}
	return pageJSON[store.AuditEntry](t, before, limit,
		"SELECT seq, data FROM audit WHERE account_id = $3 AND account_id <> '' AND seq < $1 ORDER BY seq DESC LIMIT $2", accountID)
}

// pageJSON runs sql, which selects (seq, data) rows with seq < $1, newest
// first, LIMIT $2 (then args), for one page of up to limit (<= 0:
// store.DefaultPageSize) rows below the cursor before ("" for no bound). It
// reads one row more to know whether a next page exists, and returns the
// cursor of that page ("" when none).
func pageJSON[T any](t *pgTx, before string, limit int, sql string, args ...any) ([]T, string, error) {
	if limit <= 0 {
		limit = store.DefaultPageSize
	}
	below := int64(math.MaxInt64)
	if before != "" {
		var err error
		if below, err = strconv.ParseInt(before, 10, 64); err != nil {
			return nil, "", fmt.Errorf("store: malformed page cursor %q", before)
		}
	}
	rows, err := t.tx.Query(t.ctx, sql, append([]any{below, limit + 1}, args...)...)
	if err != nil {
		return nil, "", t.fail(err)
	}
	defer rows.Close()
	var out []T
	var last int64
	next := ""
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, "", t.fail(err)
		}
		if len(out) == limit {
			next = strconv.FormatInt(last, 10)
			break
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, "", fmt.Errorf("store: decode record: %w", err)
		}
		out, last = append(out, v), seq
	}
	if err := rows.Err(); err != nil {
		return nil, "", t.fail(err)
	}
	return out, next, nil
}

// Pending checkouts.

// PutPendingCheckout records the plan an account chose; see store.Tx.
func (t *pgTx) PutPendingCheckout(p store.PendingCheckout) error {
	if p.AccountID == "" || p.Plan == "" {
		return errors.New("store: put pending checkout: account id and plan are required")
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = t.now
	}
	data, err := jsonOf(&p)
	if err != nil {
		return err
	}
	if p.SessionID != "" {
		// A session id names one pending checkout: the newest.
		if _, err := t.exec("UPDATE pending_checkouts SET session_id = NULL WHERE session_id = $1 AND account_id <> $2", p.SessionID, p.AccountID); err != nil {
			return err
		}
	}
	_, err = t.exec(`INSERT INTO pending_checkouts (account_id, session_id, data) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET session_id = excluded.session_id, data = excluded.data`,
		p.AccountID, nullIfEmpty(p.SessionID), data)
	return err
}

// DeletePendingCheckout forgets the account's pending checkout, if any. The
// delete goes with the next statement or the commit (execLater).
func (t *pgTx) DeletePendingCheckout(accountID string) error {
	return t.execLater("DELETE FROM pending_checkouts WHERE account_id = $1", accountID)
}

// PendingCheckout returns the account's pending checkout, or ErrNotFound.
func (t *pgTx) PendingCheckout(accountID string) (store.PendingCheckout, error) {
	var p store.PendingCheckout
	err := t.getJSON(&p, "SELECT data FROM pending_checkouts WHERE account_id = $1", accountID)
	return p, err
}

// PendingCheckoutBySession returns the pending checkout of Checkout Session
// sessionID, or ErrNotFound.
func (t *pgTx) PendingCheckoutBySession(sessionID string) (store.PendingCheckout, error) {
	var p store.PendingCheckout
	if sessionID == "" {
		return p, store.ErrNotFound
	}
	err := t.getJSON(&p, "SELECT data FROM pending_checkouts WHERE session_id = $1", sessionID)
	return p, err
}
