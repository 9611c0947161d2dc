package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// State is the derived access state persisted on the account. Billing derives
// it from Stripe; the store only keeps it.
type State string

// Access states; see DESIGN.md's access-state table.
const (
	StateNone             State = ""                   // registered, no plan chosen yet
	StateFree             State = "free"               // free plan
	StateTrial            State = "trial"              // trialing; HasCard tells "card"/"no card"
	StateActive           State = "active"             // paid and current
	StateCanceling        State = "canceling"          // active/trialing with cancel_at_period_end
	StatePastDue          State = "past_due"           // payment failed, grace period
	StateLockedTrialEnded State = "locked_trial_ended" // paused: trial ended without a card
	StateLockedUnpaid     State = "locked_unpaid"      // unpaid: card must be fixed
	StateLockedCanceled   State = "locked_canceled"    // canceled/incomplete_expired, customer has not chosen yet
)

// Locked reports whether the state denies access to the plan's features.
func (s State) Locked() bool {
	switch s {
	case StateLockedTrialEnded, StateLockedUnpaid, StateLockedCanceled:
		return true
	}
	return false
}

// Key is one SSH public key of an account. An account has one or more; the
// store never removes the last one (ErrLastKey).
type Key struct {
	Fingerprint string    // ssh.FingerprintSHA256 form, "SHA256:..."
	PublicKey   string    // authorized_keys line (type + base64), no comment
	AddedAt     time.Time // set by the store when zero
	// Label is the customer's name for the key: the authorized_keys comment
	// when added from one, else empty until set (SetKeyLabel).
	Label string `json:",omitempty"`
	// LastUsedAt is when the key last opened a session (KeyUsed); zero
	// when never since it was added.
	LastUsedAt time.Time `json:",omitzero"`
}

// Type is the key's algorithm as its authorized_keys line names it
// ("ssh-ed25519", "ecdsa-sha2-nistp256", ...).
func (k Key) Type() string {
	t, _, _ := strings.Cut(k.PublicKey, " ")
	return t
}

// Account is a customer of the portal. Values returned by the store are copies:
// changing one changes nothing until it goes through UpdateAccount.
type Account struct {
	ID        string // "acc_" + 16 random hex chars
	Email     string // as entered (trimmed); the unique index is on strings.ToLower(Email)
	CreatedAt time.Time
	Keys      []Key

	Plan           string // "" (none chosen), "free", "s", "m", "xl", "xxl"
	State          State
	PaymentPending bool // subscription "incomplete": previous state kept, payment pending
	TrialUsed      bool // one trial per account, ever
	TrialEnd       time.Time
	// TrialClaimedAt is when billing claimed the trial (TrialUsed set) before
	// asking Stripe for the trial subscription, by the billing clock. It is
	// zero when no claim waits for Stripe: before any claim, once a
	// subscription with a trial confirmed it (billing's Derive clears it when
	// it records TrialEnd), and when billing released the claim because
	// Stripe created nothing. Records written before the field existed decode
	// it as zero: their claims are never released automatically.
	TrialClaimedAt time.Time
	// TrialAttempt counts released trial claims. Billing derives the trial
	// subscription's idempotency key from it, so an attempt after a release
	// is a new request at Stripe rather than a replay of the failed one; 0 is
	// the first attempt.
	TrialAttempt int

	HasCard   bool
	CardBrand string
	CardLast4 string
	// PaymentMethodID is the Stripe payment method (pm_) the next invoice
	// is charged to, as billing last saw it with the card fields; a card
	// entered again is a new id with the same brand and last four. "" when
	// there is no card, or in records from before the field existed until
	// billing next sees the card.
	PaymentMethodID string `json:",omitempty"`

	CustomerID         string // Stripe cus_; indexed (AccountByCustomer)
	SubscriptionID     string // Stripe sub_
	SubscriptionStatus string // raw Stripe status of the last snapshot
	CancelAtPeriodEnd  bool
	CurrentPeriodEnd   time.Time
	NextInvoiceAt      time.Time
	NextInvoiceAmount  int64 // minor units
	AmountDue          int64 // still owed on the open invoice while past_due or unpaid, minor units
	Currency           string
	// RetriesOver is true while past_due when Stripe tried the open invoice
	// and plans no further attempt (its next_payment_attempt is null): the
	// retries ended and the subscription was left past due.
	RetriesOver bool

	// SecondSubscriptionID is a live subscription of the account's customer
	// at Stripe, made for this account, other than SubscriptionID (made in
	// the Dashboard, or by a second Checkout): billing never lets it
	// replace the account's own, and flags it here for ops to cancel.
	// SecondSubscriptionPlan is its plan. Both are "" when there is none.
	SecondSubscriptionID   string
	SecondSubscriptionPlan string

	// ScheduleID is the Stripe subscription schedule billing made to move
	// the account to ScheduledPlan at ScheduledAt (a downgrade at the period
	// end), as billing asked Stripe for it; all three are zero when no
	// change waits. Billing clears ScheduledPlan and ScheduledAt once the
	// plan is reached, and all three once the subscription no longer has
	// that schedule (released, undone, ended).
	ScheduleID    string
	ScheduledPlan string
	ScheduledAt   time.Time

	// ExpiredCheckouts are the ids of the account's latest Checkout
	// Sessions that expired (checkout.session.expired), newest last, at
	// most a few: a screen showing one of them offers a fresh link.
	ExpiredCheckouts []string
	// ActionInvoiceID and ActionURL are an invoice whose payment waits for
	// the customer (3-D Secure: invoice.payment_action_required) and its
	// hosted page; "" when none waits.
	ActionInvoiceID string
	ActionURL       string
	// DisputeID is the latest dispute opened on a charge of the customer
	// (charge.dispute.created), for ops; "" when none.
	DisputeID string
	// DeletedCustomerID is the Stripe customer deleted at Stripe while
	// linked to the account (customer.deleted): billing unlinked it
	// (CustomerID ""), kept the account, and never links it again.
	DeletedCustomerID string

	// LastPaidAt is Stripe's time of the latest invoice.paid of the
	// account (the $0 invoice that opens a trial aside); zero when none.
	// ConvertedAt is the first such payment at or after the end of the
	// account's trial: trial to paid. It stays whatever the account does
	// next. Both are set by billing in the transaction of the event.
	LastPaidAt  time.Time `json:",omitzero"`
	ConvertedAt time.Time `json:",omitzero"`

	LastSyncAt time.Time // last time billing fetched the truth from Stripe
	UpdatedAt  time.Time
	Version    uint64 // +1 on every committed update
}

func emailKey(email string) []byte {
	return []byte(strings.ToLower(strings.TrimSpace(email)))
}

// CreateAccount registers a new account with one key; see Tx.CreateAccount.
func (t *boltTx) CreateAccount(email string, key Key) (Account, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return Account{}, errors.New("store: create account: empty email")
	}
	if key.Fingerprint == "" {
		return Account{}, errors.New("store: create account: key without fingerprint")
	}
	now := t.now
	if key.AddedAt.IsZero() {
		key.AddedAt = now
	}
	a := Account{
		ID:        newID("acc_"),
		Email:     email,
		CreatedAt: now,
		Keys:      []Key{key},
		UpdatedAt: now,
		Version:   1,
	}
	tx := t.tx
	accts := tx.Bucket(bucketAccounts)
	if accts.Get([]byte(a.ID)) != nil {
		return Account{}, errors.New("store: create account: id collision, retry")
	}
	if tx.Bucket(bucketIdxEmail).Get(emailKey(email)) != nil {
		return Account{}, ErrEmailTaken
	}
	if tx.Bucket(bucketIdxKey).Get([]byte(key.Fingerprint)) != nil {
		return Account{}, ErrKeyTaken
	}
	if err := tx.Bucket(bucketIdxEmail).Put(emailKey(email), []byte(a.ID)); err != nil {
		return Account{}, err
	}
	if err := tx.Bucket(bucketIdxKey).Put([]byte(key.Fingerprint), []byte(a.ID)); err != nil {
		return Account{}, err
	}
	if err := countAccount(tx, nil, &a); err != nil {
		return Account{}, err
	}
	if err := putJSON(accts, []byte(a.ID), &a); err != nil {
		return Account{}, err
	}
	t.markChanged(a.ID)
	return a, nil
}

// Account returns the account with the given id, or ErrNotFound.
func (t *boltTx) Account(id string) (Account, error) { return getAccount(t.tx, id) }

// AccountByKey returns the account holding the key fingerprint.
func (t *boltTx) AccountByKey(fingerprint string) (Account, error) {
	return t.accountByIndex(bucketIdxKey, []byte(fingerprint))
}

// AccountByEmail returns the account using email (case-insensitive, trimmed).
func (t *boltTx) AccountByEmail(email string) (Account, error) {
	return t.accountByIndex(bucketIdxEmail, emailKey(email))
}

// AccountByCustomer returns the account linked to the Stripe customer id.
func (t *boltTx) AccountByCustomer(customerID string) (Account, error) {
	return t.accountByIndex(bucketIdxCustomer, []byte(customerID))
}

func (t *boltTx) accountByIndex(idx, key []byte) (Account, error) {
	if len(key) == 0 {
		return Account{}, ErrNotFound
	}
	id := t.tx.Bucket(idx).Get(key)
	if id == nil {
		return Account{}, ErrNotFound
	}
	a, err := getAccount(t.tx, string(id))
	if errors.Is(err, ErrNotFound) {
		// An index entry without its account is corruption, not an unknown key.
		return Account{}, fmt.Errorf("store: index %s points to missing account %s", idx, id)
	}
	return a, err
}

func getAccount(tx *bolt.Tx, id string) (Account, error) {
	return getRecord[Account](tx.Bucket(bucketAccounts), id)
}

// AddKey adds key to the account; see Tx.AddKey.
func (t *boltTx) AddKey(accountID string, key Key) (Account, error) {
	if key.Fingerprint == "" {
		return Account{}, errors.New("store: add key: key without fingerprint")
	}
	if key.AddedAt.IsZero() {
		key.AddedAt = t.now
	}
	a, err := getAccount(t.tx, accountID)
	if err != nil {
		return Account{}, err
	}
	idx := t.tx.Bucket(bucketIdxKey)
	if idx.Get([]byte(key.Fingerprint)) != nil {
		return Account{}, ErrKeyTaken
	}
	if err := idx.Put([]byte(key.Fingerprint), []byte(a.ID)); err != nil {
		return Account{}, err
	}
	a.Keys = append(a.Keys, key)
	a.Version++
	a.UpdatedAt = t.now
	if err := putJSON(t.tx.Bucket(bucketAccounts), []byte(a.ID), &a); err != nil {
		return Account{}, err
	}
	t.markChanged(a.ID)
	return a, nil
}

// UpdateAccount runs fn on a copy of the account and stores the result; see
// Tx.UpdateAccount.
func (t *boltTx) UpdateAccount(id string, fn func(*Account) error) (Account, error) {
	tx := t.tx
	old, err := getAccount(tx, id)
	if err != nil {
		return Account{}, err
	}
	a := old
	a.Keys = slices.Clone(old.Keys)
	if err := fn(&a); err != nil {
		return Account{}, err
	}
	a.ID, a.Keys, a.CreatedAt = old.ID, old.Keys, old.CreatedAt
	a.Version = old.Version + 1
	a.UpdatedAt = t.now
	a.Email = strings.TrimSpace(a.Email)
	if a.Email == "" {
		return Account{}, errors.New("store: update account: empty email")
	}
	if err := moveIndex(tx.Bucket(bucketIdxEmail), emailKey(old.Email), emailKey(a.Email), a.ID, ErrEmailTaken); err != nil {
		return Account{}, err
	}
	if err := moveIndex(tx.Bucket(bucketIdxCustomer), []byte(old.CustomerID), []byte(a.CustomerID), a.ID, ErrCustomerTaken); err != nil {
		return Account{}, err
	}
	if err := countAccount(tx, &old, &a); err != nil {
		return Account{}, err
	}
	if err := putJSON(tx.Bucket(bucketAccounts), []byte(a.ID), &a); err != nil {
		return Account{}, err
	}
	t.markChanged(a.ID)
	return a, nil
}

// moveIndex points the unique index entry for id from oldKey to newKey (either
// may be empty: no entry), failing with taken when newKey belongs to another id.
func moveIndex(b *bolt.Bucket, oldKey, newKey []byte, id string, taken error) error {
	if string(oldKey) == string(newKey) {
		return nil
	}
	if len(newKey) > 0 {
		if owner := b.Get(newKey); owner != nil && string(owner) != id {
			return taken
		}
		if err := b.Put(newKey, []byte(id)); err != nil {
			return err
		}
	}
	if len(oldKey) > 0 {
		return b.Delete(oldKey)
	}
	return nil
}

// ForEachAccount visits accounts in id order until fn returns false.
func (t *boltTx) ForEachAccount(fn func(Account) bool) error {
	c := t.tx.Bucket(bucketAccounts).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var a Account
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("store: decode account %q: %w", k, err)
		}
		if !fn(a) {
			return nil
		}
	}
	return nil
}

// CountAccounts returns the number of accounts.
func (t *boltTx) CountAccounts() (int, error) {
	return t.tx.Bucket(bucketAccounts).Stats().KeyN, nil
}
