// Package accounts holds the rules for an account's SSH keys: adding one
// (from a public key a signed-in customer hands over, or by a one-time link
// code typed on the new machine), naming and removing one, and the limits
// on guessing link codes. The SSH screens, the script commands and the ops
// view all call it, so each rule is written once.
//
// Every change is one store transaction with its audit entry (and, for a
// key added, the notice that announces it in the account's open sessions
// and by mail), so none is ever half done.
package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/portal/portal/store"
	gossh "golang.org/x/crypto/ssh"
)

// CodeTTL is how long a link code can be used.
const CodeTTL = 10 * time.Minute

// KindKeyAdded is the notice kind that announces a new key.
const KindKeyAdded store.NoticeKind = "key_added"

// codeAlphabet is Crockford's base32 without the letters people misread
// (I, L, O, U): 8 characters are 40 bits, far beyond what the attempt
// limits let anyone guess in a code's 10 minutes.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeLen is the number of characters of a link code.
const codeLen = 8

// Error is a refusal with a sentence to show the customer as is.
type Error struct {
	Msg string
	Err error // the cause, for errors.Is and the log
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrRateLimited is the cause of a refusal for too many link attempts.
var ErrRateLimited = errors.New("accounts: too many attempts")

// Message is the sentence to show a customer for err.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	if errors.Is(err, store.ErrUnavailable) {
		return "We could not reach your account right now; nothing was changed. Please try again."
	}
	return "Something went wrong on our side; nothing was changed. Please try again."
}

// Options configures a Service; the zero value is the production one.
type Options struct {
	Logger *slog.Logger
	// Now is the wall clock (codes expire in real time, not on the billing
	// clock); default time.Now.
	Now func() time.Time
	// Limits on link attempts; zero values take DefaultLimits'.
	Limits Limits
}

// Service runs key changes for the portal's sessions. It is safe for
// concurrent use.
type Service struct {
	db     store.Store
	log    *slog.Logger
	now    func() time.Time
	limits *limiter
}

// New returns a Service over db.
func New(db store.Store, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, log: opts.Logger, now: opts.Now, limits: newLimiter(opts.Limits.withDefaults(), opts.Now)}
}

// ParseKey reads one authorized_keys line (options allowed, as in a .pub
// file or an authorized_keys entry) into a key to add; its comment becomes
// the label.
func ParseKey(line string) (store.Key, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return store.Key{}, &Error{Msg: "No public key given: pipe one in, e.g. keys add < ~/.ssh/id_ed25519.pub"}
	}
	if strings.Contains(line, "PRIVATE KEY") {
		return store.Key{}, &Error{Msg: "That is a private key: never send it anywhere. Send the .pub file instead."}
	}
	pk, comment, _, rest, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return store.Key{}, &Error{Msg: "That is not an SSH public key: send one line like the contents of ~/.ssh/id_ed25519.pub", Err: err}
	}
	if strings.TrimSpace(string(rest)) != "" {
		return store.Key{}, &Error{Msg: "Send one public key at a time."}
	}
	if _, ok := pk.(gossh.CryptoPublicKey); !ok || strings.Contains(pk.Type(), "cert") {
		return store.Key{}, &Error{Msg: "Certificates are not accepted here: send the plain public key."}
	}
	return store.Key{
		Fingerprint: gossh.FingerprintSHA256(pk),
		PublicKey:   strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pk))),
		Label:       store.CleanLabel(comment),
	}, nil
}

// NormalizeCode is code as stored: upper case, separators and spaces gone,
// and the letters people confuse with digits read as those digits.
func NormalizeCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		case r == '-' || r == ' ' || r == '_' || r == '\t':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FormatCode is how a code is shown: two groups of four, "7KQ2-M9XD".
func FormatCode(code string) string {
	if len(code) == codeLen {
		return code[:4] + "-" + code[4:]
	}
	return code
}

func newCode() string {
	b := make([]byte, codeLen)
	_, _ = rand.Read(b) // never fails on supported platforms
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)] // 256 % 32 == 0: uniform
	}
	return string(b)
}

// NewLinkCode makes a new link code for the account, replacing its earlier
// one, on behalf of the key by (the session's). Making codes counts against
// the account's attempt limit too, so a session cannot mint codes forever.
func (s *Service) NewLinkCode(ctx context.Context, accountID, by string) (store.LinkCode, error) {
	if wait := s.limits.account(accountID); wait > 0 {
		return store.LinkCode{}, tooMany(wait)
	}
	now := s.now()
	for range 5 {
		c := store.LinkCode{Code: newCode(), AccountID: accountID, CreatedBy: by, CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
		err := s.db.Update(ctx, func(tx store.Tx) error {
			var err error
			c, err = tx.PutLinkCode(c)
			return err
		})
		if errors.Is(err, store.ErrLinkTaken) {
			continue
		}
		if err != nil {
			return store.LinkCode{}, err
		}
		s.log.Info("link code made", "account", accountID, "by", by)
		return c, nil
	}
	return store.LinkCode{}, errors.New("accounts: no free link code after 5 draws")
}

// Link adds key to the account whose code this is. remote is the client's
// address (host or host:port) for the per-address limit and the audit.
// Wrong, expired and used codes are refused in words; every attempt counts
// against the address's limit, and an attempt with a known code against its
// account's.
func (s *Service) Link(ctx context.Context, code string, key store.Key, remote string) (store.Account, error) {
	addr := hostOf(remote)
	if wait := s.limits.address(addr); wait > 0 {
		s.log.Warn("link attempt limited", "remote", addr)
		return store.Account{}, tooMany(wait)
	}
	code = NormalizeCode(code)
	if len(code) != codeLen || strings.Trim(code, codeAlphabet) != "" {
		return store.Account{}, &Error{Msg: "A code has 8 letters and digits, like 7KQ2-M9XD.", Err: store.ErrNotFound}
	}
	now := s.now()
	var acct store.Account
	var found store.LinkCode
	err := s.db.Update(ctx, func(tx store.Tx) error {
		acct, found = store.Account{}, store.LinkCode{}
		c, err := tx.UseLinkCode(code, key.Fingerprint, now)
		found = c
		if err != nil {
			return err
		}
		if key.AddedAt.IsZero() {
			key.AddedAt = now
		}
		key.LastUsedAt = now // the key is in use: it presented the code
		if acct, err = tx.AddKey(c.AccountID, key); err != nil {
			return err
		}
		return s.recordAdd(tx, acct, key, "key:"+key.Fingerprint, "key.link", "code made by "+c.CreatedBy+" from "+addr)
	})
	if found.AccountID != "" && (err == nil || errors.Is(err, store.ErrCodeUsed) || errors.Is(err, store.ErrCodeExpired)) {
		if wait := s.limits.account(found.AccountID); wait > 0 && err != nil {
			return store.Account{}, tooMany(wait)
		}
	}
	switch {
	case err == nil:
		s.log.Info("key linked", "account", acct.ID, "key", key.Fingerprint, "remote", addr)
		return acct, nil
	case errors.Is(err, store.ErrNotFound):
		return store.Account{}, &Error{Msg: "No such code: check it, or make a new one.", Err: err}
	case errors.Is(err, store.ErrCodeUsed):
		return store.Account{}, &Error{Msg: "That code was used already; make a new one.", Err: err}
	case errors.Is(err, store.ErrCodeExpired):
		return store.Account{}, &Error{Msg: "That code has expired (10 minutes); make a new one.", Err: err}
	case errors.Is(err, store.ErrKeyTaken):
		return store.Account{}, s.keyTaken(ctx, key.Fingerprint, found.AccountID, err)
	}
	return store.Account{}, err
}

func (s *Service) keyTaken(ctx context.Context, fp, accountID string, err error) error {
	var owner store.Account
	_ = s.db.View(ctx, func(tx store.ReadTx) error {
		var err error
		owner, err = tx.AccountByKey(fp)
		return err
	})
	if owner.ID != "" && owner.ID == accountID {
		return &Error{Msg: "This key is already on the account.", Err: err}
	}
	return &Error{Msg: "This key belongs to another account: a key can reach one account only.", Err: err}
}

// AddKey adds key to the account on behalf of actor (a "key:SHA256:…" of
// the account, or an admin).
func (s *Service) AddKey(ctx context.Context, accountID string, key store.Key, actor string) (store.Account, error) {
	var acct store.Account
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if acct, err = tx.AddKey(accountID, key); err != nil {
			return err
		}
		return s.recordAdd(tx, acct, key, actor, "key.add", "")
	})
	if errors.Is(err, store.ErrKeyTaken) {
		return store.Account{}, s.keyTaken(ctx, key.Fingerprint, accountID, err)
	}
	if err == nil {
		s.log.Info("key added", "account", accountID, "key", key.Fingerprint, "actor", actor)
	}
	return acct, err
}

// recordAdd writes, in the adding transaction, the audit entry and the
// notice that tells the account's sessions (live) and mailbox.
func (s *Service) recordAdd(tx store.Tx, acct store.Account, key store.Key, actor, action, detail string) error {
	after := key.Fingerprint
	if key.Label != "" {
		after += " (" + key.Label + ")"
	}
	if detail != "" {
		after += "; " + detail
	}
	if _, err := tx.AppendAudit(store.AuditEntry{Actor: actor, AccountID: acct.ID, Action: action, After: after}); err != nil {
		return err
	}
	msg := "A new key was added to your account: " + key.Fingerprint
	if key.Label != "" {
		msg += " (" + key.Label + ")"
	}
	msg += ". Not you? Remove it on the keys screen (k)."
	return tx.EnsureNotice(store.Notice{AccountID: acct.ID, Kind: KindKeyAdded, Key: key.Fingerprint + "@" + s.now().UTC().Format(time.RFC3339Nano), Message: msg})
}

// RemoveKey removes the key with fingerprint from the account on behalf of
// actor. The last key is never removed.
func (s *Service) RemoveKey(ctx context.Context, accountID, fingerprint, actor string) (store.Account, error) {
	var acct store.Account
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if acct, err = tx.RemoveKey(accountID, fingerprint); err != nil {
			return err
		}
		_, err = tx.AppendAudit(store.AuditEntry{Actor: actor, AccountID: accountID, Action: "key.remove", Before: fingerprint})
		return err
	})
	switch {
	case errors.Is(err, store.ErrLastKey):
		return store.Account{}, &Error{Msg: "That is the account's only key: add another before removing it.", Err: err}
	case errors.Is(err, store.ErrNotFound):
		return store.Account{}, &Error{Msg: "No key " + fingerprint + " on this account. `keys` lists them.", Err: err}
	case err != nil:
		return store.Account{}, err
	}
	s.log.Info("key removed", "account", accountID, "key", fingerprint, "actor", actor)
	return acct, nil
}

// SetLabel names one of the account's keys.
func (s *Service) SetLabel(ctx context.Context, accountID, fingerprint, label, actor string) (store.Account, error) {
	var acct store.Account
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if acct, err = tx.SetKeyLabel(accountID, fingerprint, label); err != nil {
			return err
		}
		_, err = tx.AppendAudit(store.AuditEntry{Actor: actor, AccountID: accountID, Action: "key.label",
			After: fingerprint + " " + store.CleanLabel(label)})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, &Error{Msg: "No key " + fingerprint + " on this account.", Err: err}
	}
	return acct, err
}

// Used records that the key opened a session now; at most once a minute
// per key is written (a burst of commands writes once).
func (s *Service) Used(ctx context.Context, a store.Account, fingerprint string) {
	now := s.now()
	for _, k := range a.Keys {
		if k.Fingerprint == fingerprint && now.Sub(k.LastUsedAt) < time.Minute {
			return
		}
	}
	if err := s.db.Update(ctx, func(tx store.Tx) error { return tx.KeyUsed(fingerprint, now) }); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("record key use", "key", fingerprint, "err", err)
	}
}

// FindKey returns the account's key whose fingerprint is fp, accepting it
// with or without the "SHA256:" prefix.
func FindKey(a store.Account, fp string) (store.Key, bool) {
	fp = strings.TrimSpace(fp)
	if !strings.HasPrefix(fp, "SHA256:") {
		fp = "SHA256:" + fp
	}
	for _, k := range a.Keys {
		if k.Fingerprint == fp {
			return k, true
		}
	}
	return store.Key{}, false
}

func tooMany(wait time.Duration) error {
	return &Error{Msg: fmt.Sprintf("Too many link attempts; try again in %s.", words(wait)), Err: ErrRateLimited}
}

func words(d time.Duration) string {
	if d < time.Minute {
		n := int((d + time.Second - 1) / time.Second)
		if n == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", n)
	}
	n := int((d + time.Minute - 1) / time.Minute)
	if n == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
