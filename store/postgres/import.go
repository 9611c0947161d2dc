package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/portal/portal/store"
)

// Counts says how many records of each kind a store holds.
type Counts struct {
	Accounts, Keys, Events, Notices, Audit, PendingCheckouts, Links, LinkCodes int
}

// Import copies everything src holds (read in one snapshot) into this
// database, which must be empty, in one transaction, keeping ids, versions
// and times, and checks that the database then holds as many records of
// each kind as src: `portal migrate-store`, for a single-machine install
// that grows. Short links and link codes, which the store contract never
// lists, are read through store.Exporter (src's ReadTx must implement it).
// The change feed is not copied: sessions start from the accounts as they
// are.
func (db *DB) Import(ctx context.Context, src store.Engine) (Counts, error) {
	var (
		want     Counts
		accounts []store.Account
		events   []store.Event
		notices  []store.Notice
		audit    []store.AuditEntry
		pending  []store.PendingCheckout
		links    []store.Link
		codes    []store.LinkCode
	)
	err := src.View(ctx, func(tx store.ReadTx) error {
		ex, ok := tx.(store.Exporter)
		if !ok {
			return fmt.Errorf("the source store (%T) cannot list its short links and link codes", tx)
		}
		var err error
		if links, err = ex.Links(); err != nil {
			return err
		}
		if codes, err = ex.LinkCodes(); err != nil {
			return err
		}
		if err := tx.ForEachAccount(func(a store.Account) bool { accounts = append(accounts, a); return true }); err != nil {
			return err
		}
		if events, err = tx.Events("", 0); err != nil {
			return err
		}
		if audit, err = tx.Audit("", 0); err != nil {
			return err
		}
		for _, a := range accounts {
			want.Keys += len(a.Keys)
			ns, err := tx.Notices(a.ID)
			if err != nil {
				return err
			}
			notices = append(notices, ns...)
			p, err := tx.PendingCheckout(a.ID)
			switch {
			case err == nil:
				pending = append(pending, p)
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("read the source store: %w", err)
	}
	want.Accounts, want.Events, want.Notices, want.Audit, want.PendingCheckouts = len(accounts), len(events), len(notices), len(audit), len(pending)
	want.Links, want.LinkCodes = len(links), len(codes)
	// Listings come newest first; insert oldest first so the order columns
	// (notices' and audit's seq, events' ties) keep the source's order.
	slices.Reverse(events)
	slices.Reverse(audit)
	slices.SortStableFunc(notices, func(a, b store.Notice) int { return a.CreatedAt.Compare(b.CreatedAt) })

	var got Counts
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE accounts, events, notices, audit, links, link_codes IN EXCLUSIVE MODE"); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM events) + (SELECT count(*) FROM notices)
			+ (SELECT count(*) FROM audit) + (SELECT count(*) FROM links) + (SELECT count(*) FROM link_codes)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errors.New("the PostgreSQL database is not empty: migrate-store only copies into a new database")
		}
		b := &pgx.Batch{}
		for _, a := range accounts {
			data, err := jsonOf(&a)
			if err != nil {
				return err
			}
			b.Queue("INSERT INTO accounts (id, email, customer_id, data, trial_end_ns) VALUES ($1, $2, $3, $4, $5)",
				a.ID, a.Email, nullIfEmpty(a.CustomerID), data, trialEndNs(&a))
			for _, k := range a.Keys {
				b.Queue("INSERT INTO account_keys (fingerprint, account_id) VALUES ($1, $2)", k.Fingerprint, a.ID)
			}
		}
		for _, ev := range events {
			data, err := jsonOf(&ev)
			if err != nil {
				return err
			}
			b.Queue("INSERT INTO events (id, account_id, received_ns, data) VALUES ($1, $2, $3, $4)", ev.ID, nullIfEmpty(ev.AccountID), ev.ReceivedAt.UnixNano(), data)
		}
		for _, nt := range notices {
			data, err := jsonOf(&nt)
			if err != nil {
				return err
			}
			b.Queue("INSERT INTO notices (id, account_id, kind, key, mailed, data) VALUES ($1, $2, $3, $4, $5, $6)", nt.ID, nt.AccountID, string(nt.Kind), nt.Key, !nt.MailedAt.IsZero(), data)
		}
		for _, e := range audit {
			data, err := jsonOf(&e)
			if err != nil {
				return err
			}
			b.Queue("INSERT INTO audit (account_id, data) VALUES ($1, $2)", e.AccountID, data)
		}
		for _, p := range pending {
			data, err := jsonOf(&p)
			if err != nil {
				return err
			}
			b.Queue("INSERT INTO pending_checkouts (account_id, session_id, data) VALUES ($1, $2, $3)", p.AccountID, nullIfEmpty(p.SessionID), data)
		}
		for _, l := range links {
			b.Queue("INSERT INTO links (token, target, expires_ns) VALUES ($1, $2, $3)", l.Token, l.Target, l.Expires.UnixNano())
		}
		for _, c := range codes {
			data, err := jsonOf(&c)
			if err != nil {
				return err
			}
			b.Queue("INSERT INTO link_codes (code, account_id, data) VALUES ($1, $2, $3)", c.Code, c.AccountID, data)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM account_keys),
			(SELECT count(*) FROM events), (SELECT count(*) FROM notices), (SELECT count(*) FROM audit),
			(SELECT count(*) FROM pending_checkouts), (SELECT count(*) FROM links), (SELECT count(*) FROM link_codes)`).Scan(
			&got.Accounts, &got.Keys, &got.Events, &got.Notices, &got.Audit, &got.PendingCheckouts, &got.Links, &got.LinkCodes)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("counts differ after the copy (nothing was kept): source %+v, PostgreSQL %+v", want, got)
		}
		return nil
	})
	if err != nil {
		return Counts{}, fmt.Errorf("postgres: import: %w", err)
	}
	return got, nil
}
