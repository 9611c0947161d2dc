package store

import (
	"context"
	"errors"
	"time"
)

// The engine-neutral contract. *DB (bbolt, this package) and store/postgres
// implement Store with the same observable behaviour; store/storetest's Run
// is the suite that pins it, written once and run against every engine.
//
// An engine implements Engine (transactions, the change feed) plus the short
// links; Ops turns an Engine into the one-call methods the rest of Store
// lists, so an engine writes each rule once, in its Tx.

var (
	// ErrUnavailable wraps every failure of the engine itself (disk, closed
	// store, lost connection, timeout): the store could not answer, and the
	// caller must neither treat the record as missing nor as written. A
	// webhook answers 5xx, a screen shows an error in words.
	ErrUnavailable = errors.New("store: unavailable")
)

// Store is everything the portal keeps durably. It is safe for concurrent use.
type Store interface {
	Engine
	Accounts
	Links
	Maintenance
}

// Engine is what an engine implements: transactions and the change feed.
type Engine interface {
	// Update runs fn in one read-write transaction and commits it when fn
	// returns nil: everything fn wrote becomes visible together, with one
	// change-feed entry (a new Seq) per account fn changed, written in the
	// same transaction. When fn returns an error, or the commit fails,
	// nothing fn wrote is visible, no feed entry exists and no subscriber is
	// told. fn's own error is returned as is; an engine failure wraps
	// ErrUnavailable.
	//
	// Subscribers are notified only after the commit. Concurrent Updates of
	// one account are serialised (no lost update).
	//
	// fn may run more than once (bbolt group-commits concurrent callers and
	// reruns the survivors when one fails; PostgreSQL retries serialisation
	// failures): it must change nothing outside the transaction except
	// variables it resets on entry. fn must not call the Store itself (it
	// would deadlock on bbolt).
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction: a consistent snapshot.
	View(ctx context.Context, fn func(ReadTx) error) error

	// LastSeq returns the sequence number of the newest committed change to
	// accountID, or to any account when accountID is ""; 0 when none.
	LastSeq(ctx context.Context, accountID string) (uint64, error)
	// Changes returns committed changes with Seq > after, ascending, at most
	// limit (limit <= 0: an engine default). It never returns a Seq while a
	// lower one may still commit, so a reader that continues from the last
	// Seq it saw never skips one. When changes after `after` were pruned, the
	// first element is Change{Resync: true} with the Seq to continue from.
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)
	// SubscribeFrom delivers every change committed after fromSeq (catch-up
	// from the durable feed, then live ones) to accountID, or to all accounts
	// when accountID is "". See Subscription for the delivery rules. A
	// subscriber that reconnects names the last Seq it saw and misses nothing,
	// even across a restart of the process.
	SubscribeFrom(accountID string, fromSeq uint64) *Subscription

	// Close ends every subscription (their C is closed) and releases the
	// engine. Calls after Close fail with ErrUnavailable.
	Close() error
}

// Links are the short links (billing's /l/ tokens); they are independent
// single writes, outside any change's transaction.
type Links interface {
	// PutLink stores target under token until expires. ErrLinkTaken (link.go) when
	// token is already stored, expired or not.
	PutLink(token, target string, expires time.Time) error
	// Link returns the target of token while now is before its expiry; an
	// unknown or expired token is ErrNotFound.
	Link(token string, now time.Time) (string, error)
	// DeleteExpiredLinks removes the links expired at now and says how many.
	DeleteExpiredLinks(now time.Time) (int, error)
}

// Maintenance is what operations prune and metrics read on each scrape,
// engine by engine. None of it is a change: it writes no feed entry.
type Maintenance interface {
	// Prune removes history older than before in small batches (see
	// (*DB).Prune for what goes and what stays) and says what it removed.
	Prune(ctx context.Context, before time.Time, batch int) (PruneResult, error)
	// AccountCounts returns the number of accounts by state, plan and raw
	// subscription status; combinations with no account are left out. It
	// reads what the engine keeps counted or indexed, never every account's
	// record.
	AccountCounts() ([]AccountCount, error)
	// TrialsEndingBetween counts accounts trialing (or canceling during a
	// trial) whose trial ends in [from, to).
	TrialsEndingBetween(from, to time.Time) (int, error)
}

// ReadTx reads within one transaction. Lookups return ErrNotFound only when
// the record does not exist.
type ReadTx interface {
	// Account returns the account with id.
	Account(id string) (Account, error)
	// AccountByKey returns the account holding the SSH key fingerprint.
	AccountByKey(fingerprint string) (Account, error)
	// AccountByEmail returns the account using email (trimmed, case-insensitive).
	AccountByEmail(email string) (Account, error)
	// AccountByCustomer returns the account linked to the Stripe customer id.
	AccountByCustomer(customerID string) (Account, error)
	// ForEachAccount visits accounts in id order until fn returns false.
	ForEachAccount(fn func(Account) bool) error
	// CountAccounts returns the number of accounts.
	CountAccounts() (int, error)

	// Event returns the record of Stripe event id.
	Event(id string) (Event, error)
	// Events returns up to limit events (all when limit <= 0), newest first
	// by ReceivedAt; of one account when accountID != "".
	Events(accountID string, limit int) ([]Event, error)

	// Notice returns the notice with id.
	Notice(id string) (Notice, error)
	// Notices returns the account's notices, newest first.
	Notices(accountID string) ([]Notice, error)
	// Outbox returns the notices not yet mailed, oldest first, whatever
	// their MailTries and MailNextAt.
	Outbox() ([]Notice, error)
	// MailPage returns one page of every notice's mail, sent or not, newest
	// first (Notice.MailStatus says where each is): up to limit notices
	// (limit <= 0: DefaultPageSize) older than the cursor before ("" starts
	// at the newest), and the cursor of the next page, "" when there is no
	// older notice. Cursors are the engine's own; a malformed one is an
	// error.
	MailPage(before string, limit int) ([]Notice, string, error)

	// Audit returns up to limit entries (all when limit <= 0), newest first;
	// of one account, or of all when accountID is "".
	Audit(accountID string, limit int) ([]AuditEntry, error)
	// AuditPage returns one page of Audit: up to limit entries (limit <= 0:
	// DefaultPageSize) older than the cursor before ("" starts at the
	// newest), newest first, of one account or of all when accountID is "";
	// and the cursor of the next page, "" when there is no older entry. A
	// page reads only its own entries, however deep in the log it is.
	AuditPage(accountID, before string, limit int) ([]AuditEntry, string, error)

	// PendingCheckout returns the paid plan the account chose and has not
	// got yet (a card is needed; SessionID is the Checkout Session that
	// sells it, once made).
	PendingCheckout(accountID string) (PendingCheckout, error)
	// PendingCheckoutBySession returns the pending checkout whose Checkout
	// Session is sessionID.
	PendingCheckoutBySession(sessionID string) (PendingCheckout, error)

	// LinkCode returns the link code, used, expired or not (ErrNotFound
	// when unknown or replaced by a newer code of its account).
	LinkCode(code string) (LinkCode, error)
}

// Tx reads and writes within one read-write transaction (Engine.Update).
// Every write below that changes what an account's screens show marks the
// account changed: at commit it gets one feed entry per transaction.
type Tx interface {
	ReadTx

	// CreateAccount registers a new account with one key. The email is
	// trimmed and must be non-empty. ErrEmailTaken when another account uses
	// the email (case-insensitively), ErrKeyTaken when the key is registered.
	// Changes the new account.
	CreateAccount(email string, key Key) (Account, error)
	// AddKey adds key to the account: ErrKeyTaken when the fingerprint is
	// registered (to any account), ErrNotFound when the account does not
	// exist. Bumps Version; changes the account.
	AddKey(accountID string, key Key) (Account, error)
	// RemoveKey removes the key with fingerprint from the account and frees
	// the fingerprint (it may be registered again, to any account).
	// ErrNotFound when the account does not exist or does not hold the key;
	// ErrLastKey when it is the account's only key. Bumps Version; changes
	// the account.
	RemoveKey(accountID, fingerprint string) (Account, error)
	// SetKeyLabel sets the label of one of the account's keys (CleanLabel'd;
	// "" clears it). ErrNotFound as RemoveKey. Bumps Version; changes the
	// account.
	SetKeyLabel(accountID, fingerprint, label string) (Account, error)
	// KeyUsed records that the key opened a session at at: its LastUsedAt
	// moves forward only. ErrNotFound for an unregistered fingerprint. Does
	// not bump Version and changes no account (every login would otherwise
	// wake every open session of the account).
	KeyUsed(fingerprint string, at time.Time) error
	// PutLinkCode stores a new link code for c.AccountID, replacing the
	// account's earlier code (used or not: one code per account at a
	// time). Code, AccountID and ExpiresAt are required; CreatedAt defaults
	// to now; UsedAt/UsedBy are cleared. ErrLinkTaken when the code is
	// stored already (draw another), ErrNotFound when the account does not
	// exist. Changes no account.
	PutLinkCode(c LinkCode) (LinkCode, error)
	// UseLinkCode marks the code used at at by the key fingerprint, once:
	// ErrNotFound for an unknown code, ErrCodeUsed when it was used already,
	// ErrCodeExpired when at is not before its ExpiresAt (both return the
	// code too, so the caller can tell its account). The caller adds the key
	// in the same transaction (AddKey), so a failed add leaves the code
	// unused. Changes no account by itself.
	UseLinkCode(code, fingerprint string, at time.Time) (LinkCode, error)

	// UpdateAccount runs fn on a copy of the account and stores the result.
	// fn's error is returned as is (and aborts the transaction if the caller
	// passes it on). The email and customer indexes follow the new values
	// (ErrEmailTaken, ErrCustomerTaken). Version is bumped and UpdatedAt set;
	// fn's changes to ID, Keys, CreatedAt, Version and UpdatedAt are
	// discarded. Changes the account.
	UpdateAccount(id string, fn func(*Account) error) (Account, error)

	// RecordEvent stores the record of a Stripe event. ev.Status defaults to
	// processed, ev.ReceivedAt to now. When ev.ID already has a final record
	// (processed or ignored) only its Duplicates counter is incremented and
	// dup is true; a non-final (failed) record is overwritten, keeping its
	// Duplicates. A new record with an AccountID changes that account.
	RecordEvent(ev Event) (dup bool, err error)

	// AddNotice stores n unless a notice with the same (AccountID, Kind, Key)
	// exists, in which case it returns that one and false. The account must
	// exist (ErrNotFound). A new notice enters the mail outbox (due at once)
	// and changes the account.
	AddNotice(n Notice) (Notice, bool, error)
	// EnsureNotice is AddNotice for a caller that needs neither the notice
	// nor whether it was new: the account must exist (ErrNotFound), and it
	// counts as changed even when the notice existed. Not returning them
	// lets an engine send the write with the transaction's next statement or
	// its commit instead of waiting for it (PostgreSQL).
	EnsureNotice(n Notice) error
	// MarkMailed records a mail attempt of notice id at time at. mailErr nil:
	// MailedAt = at, MailError cleared, the notice leaves the outbox. Else
	// MailTries+1, MailError set, MailNextAt = retryAt (the mailer's
	// schedule, kept here so a restart honours it), and it stays in the
	// outbox. ErrNotFound for an unknown id. Changes no account.
	MarkMailed(id string, at time.Time, mailErr error, retryAt time.Time) error
	// Requeue puts the notice back in the outbox, due at once (MailedAt,
	// MailTries, MailError, MailNextAt cleared); ErrNotFound for an unknown
	// id. Changes the account (that wakes the mailer).
	Requeue(id string) (Notice, error)
	// DismissNotice hides notice id's banner for good: DismissedAt = at
	// (a second dismissal keeps the first time). The notice must belong to
	// accountID (a session dismisses only its own account's), else
	// ErrNotFound. Changes the account, so its every session drops the
	// banner. Mail is unaffected.
	DismissNotice(accountID, id string, at time.Time) error

	// AppendAudit stores e with a new ID; At defaults to now. Entries keep
	// insertion order. Changes no account.
	AppendAudit(e AuditEntry) (AuditEntry, error)

	// PutPendingCheckout records the paid plan an account chose and has not
	// got yet, replacing the account's previous one. Changes no account.
	PutPendingCheckout(p PendingCheckout) error
	// DeletePendingCheckout forgets the account's pending checkout (no error
	// when there is none). Changes no account.
	DeletePendingCheckout(accountID string) error
}

// Accounts is the one-call form of the transactions, each method one
// transaction (Ops implements it over any Engine).
type Accounts interface {
	CreateAccount(email string, key Key) (Account, error)
	Account(id string) (Account, error)
	AccountByKey(fingerprint string) (Account, error)
	AccountByEmail(email string) (Account, error)
	AccountByCustomer(customerID string) (Account, error)
	AddKey(accountID string, key Key) (Account, error)
	RemoveKey(accountID, fingerprint string) (Account, error)
	SetKeyLabel(accountID, fingerprint, label string) (Account, error)
	KeyUsed(fingerprint string, at time.Time) error
	UpdateAccount(id string, fn func(*Account) error) (Account, error)
	ForEachAccount(fn func(Account) bool) error
	CountAccounts() (int, error)

	EventProcessed(id string) (bool, error)
	ApplyEvent(ev Event, accountID string, fn func(*Account) error) (Account, bool, error)
	RecordEvent(ev Event) error
	Events(limit int) ([]Event, error)
	EventsForAccount(accountID string, limit int) ([]Event, error)

	AddNotice(n Notice) (Notice, bool, error)
	Notices(accountID string) ([]Notice, error)
	Outbox() ([]Notice, error)
	MailPage(before string, limit int) ([]Notice, string, error)
	MarkMailed(id string, at time.Time, mailErr error, retryAt time.Time) error
	Requeue(id string) (Notice, error)
	DismissNotice(accountID, id string, at time.Time) error

	AppendAudit(e AuditEntry) (AuditEntry, error)
	Audit(accountID string, limit int) ([]AuditEntry, error)
	AuditPage(accountID, before string, limit int) ([]AuditEntry, string, error)

	PendingCheckout(accountID string) (PendingCheckout, error)
	PendingCheckoutBySession(sessionID string) (PendingCheckout, error)

	// Subscribe is SubscribeFrom(accountID, LastSeq(accountID)): changes
	// committed from now on.
	Subscribe(accountID string) *Subscription
}

// DefaultPageSize is the page of MailPage and AuditPage when the caller
// names none.
const DefaultPageSize = 100

// PendingCheckout is a paid plan an account chose and has not got yet,
// because a card is needed first. It survives restarts, so the card link
// made later (or after a restart) still sells the plan the customer chose.
type PendingCheckout struct {
	AccountID string
	Plan      string    // catalog plan id
	SessionID string    // the Checkout Session selling Plan; "" until one is made
	CreatedAt time.Time // set by the store when zero
}

// Change is one committed change to an account, from the durable feed: re-read
// the account (its Version is at least what the change wrote).
type Change struct {
	Seq       uint64 // position in the feed, ascending in commit order
	AccountID string // "" with Resync
	// Resync: the subscriber cannot be told exactly what it missed (changes
	// were pruned before it caught up): re-read everything it shows.
	Resync bool
}
