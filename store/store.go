package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this package writes. Open refuses a file
// with a newer version, since an older binary could corrupt it.
const SchemaVersion = 2

var (
	// ErrNotFound is returned by lookups when the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrEmailTaken is returned when another account already uses the email
	// (compared case-insensitively).
	ErrEmailTaken = errors.New("store: email already in use")
	// ErrKeyTaken is returned when the key fingerprint already belongs to an account.
	ErrKeyTaken = errors.New("store: key already registered")
	// ErrCustomerTaken is returned by UpdateAccount when another account already
	// holds the Stripe customer id.
	ErrCustomerTaken = errors.New("store: customer already linked to another account")
)

var (
	bucketMeta         = []byte("meta")
	bucketAccounts     = []byte("accounts")        // id → Account JSON
	bucketIdxKey       = []byte("idx_key")         // fingerprint → account id
	bucketIdxEmail     = []byte("idx_email")       // lower(email) → account id
	bucketIdxCustomer  = []byte("idx_customer")    // cus_ id → account id
	bucketEvents       = []byte("events")          // evt_ id → Event JSON
	bucketEventsByTime = []byte("events_by_time")  // timeKey(ReceivedAt) + id → id
	bucketEventsByAcct = []byte("events_by_acct")  // account id + 0 + timeKey + id → id
	bucketNotices      = []byte("notices")         // seq → Notice JSON
	bucketNoticeIDs    = []byte("notice_ids")      // notice id → seq
	bucketNoticeUniq   = []byte("notice_uniq")     // account + 0 + kind + 0 + key → notice id
	bucketNoticesByAcc = []byte("notices_by_acct") // account id + 0 + seq → nil
	bucketOutbox       = []byte("outbox")          // seq → nil while not mailed
	bucketAudit        = []byte("audit")           // seq → AuditEntry JSON
	bucketAuditByAcct  = []byte("audit_by_acct")   // account id + 0 + seq → nil
	bucketLinks        = []byte("links")           // short-link token → expiry + target (link.go)
	// Since schema 2:
	bucketChanges      = []byte("changes")            // seq → change JSON: the durable change feed
	bucketChangeLast   = []byte("change_last")        // account id → seq of its newest change
	bucketPending      = []byte("pending_checkouts")  // account id → PendingCheckout JSON
	bucketPendingBySes = []byte("pending_by_session") // Checkout Session id → account id
	// Added within schema 2 (new buckets only; older binaries ignore them):
	bucketLinkCodes       = []byte("link_codes")         // code → LinkCode JSON
	bucketLinkCodesByAcct = []byte("link_codes_by_acct") // account id → its one code

	keySchema = []byte("schema_version")
)

var allBuckets = [][]byte{
	bucketMeta, bucketAccounts, bucketIdxKey, bucketIdxEmail, bucketIdxCustomer,
	bucketEvents, bucketEventsByTime, bucketEventsByAcct,
	bucketNotices, bucketNoticeIDs, bucketNoticeUniq, bucketNoticesByAcc, bucketOutbox,
	bucketAudit, bucketAuditByAcct, bucketLinks,
	bucketChanges, bucketChangeLast, bucketPending, bucketPendingBySes,
	bucketLinkCodes, bucketLinkCodesByAcct,
}

// Options configures Open. The zero value is ready for production use.
type Options struct {
	// Timeout bounds the wait for bbolt's exclusive file lock; default 1s.
	Timeout time.Duration
	// Now is the clock used for CreatedAt, UpdatedAt and other stamps; default time.Now.
	Now func() time.Time
	// NoSync skips fsync on commit. Only for tests and benchmarks: a crash loses data.
	NoSync bool
}

// DB is an open store on one bbolt file, the embedded engine. It is safe for
// concurrent use; open it once per process.
type DB struct {
	Ops  // the one-call methods, each one Update or View
	bolt *bolt.DB
	path string
	now  func() time.Time
	hub  *Hub
	// noSync: commits are not fsynced (Options.NoSync), so Update does not
	// group them.
	noSync bool
	// commits group-commits Update's transactions (tx.go); nil with noSync.
	commits *committer
	// observeTx times transactions (observe.go); nil = none.
	observeTx TxObserver
}

var _ Store = (*DB)(nil)

// Open opens or creates the store at path, creating missing parent directories
// (0700) and the file (0600). It waits at most opts.Timeout for the file lock and
// then fails with an error naming the file. A new file gets SchemaVersion; a file
// with a newer version is refused.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
		}
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.Timeout, NoSync: opts.NoSync,
		// A hashmap freelist that is not written on every commit: after
		// retention frees a million event records, syncing the freelist
		// made each webhook's commit about 7x slower than on an empty store
		// (BenchmarkAtMillionEvents); unsynced it is as fast. Open rebuilds
		// the freelist by scanning the file instead (as etcd does).
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: file is locked by another open store (this or another process) after waiting %s: %w", path, opts.Timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := initSchema(bdb, path); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	if err := initCounts(bdb); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: init %s: %w", path, err)
	}
	db := &DB{bolt: bdb, path: path, now: opts.Now, noSync: opts.NoSync}
	if !opts.NoSync {
		db.commits = newCommitter(bdb)
	}
	db.Ops = Ops{E: db}
	db.hub = NewHub(db)
	return db, nil
}

// migrations[v] moves a file from schema version v to v+1, inside the one
// transaction that also creates missing buckets and writes the new version.
// Version 1 → 2 (the durable change feed, pending checkouts, the mailer's
// next-attempt time) adds buckets only: Notice.MailNextAt decodes as zero
// (due now) in older records and the feed starts at sequence 1.
var migrations = map[int]func(tx *bolt.Tx) error{
	1: func(*bolt.Tx) error { return nil },
}

func initSchema(bdb *bolt.DB, path string) error {
	return bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("store: init %s: %w", path, err)
		}
		version := SchemaVersion // a new file
		if v := meta.Get(keySchema); v != nil {
			if version, err = strconv.Atoi(string(v)); err != nil {
				return fmt.Errorf("store: %s has an unreadable schema version %q", path, v)
			}
			if version > SchemaVersion {
				return fmt.Errorf("store: %s has schema version %d, newer than this binary supports (%d); upgrade the binary", path, version, SchemaVersion)
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("store: init %s: bucket %s: %w", path, name, err)
			}
		}
		for ; version < SchemaVersion; version++ {
			if err := migrations[version](tx); err != nil {
				return fmt.Errorf("store: migrate %s from schema version %d: %w", path, version, err)
			}
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return fmt.Errorf("store: init %s: %w", path, err)
		}
		return nil
	})
}

// Close closes every feed subscription, then the file. Calls after Close fail
// with ErrUnavailable.
func (db *DB) Close() error {
	db.hub.Close()
	if db.commits != nil {
		db.commits.close()
	}
	return db.bolt.Close()
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// newID returns prefix followed by 16 lowercase hex characters from crypto/rand.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}

// timeKey encodes t so that byte order is time order, including before 1970.
func timeKey(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^(1<<63))
	return b[:]
}

func seqKey(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// join builds a composite index key; parts are separated by a zero byte, which
// never appears in ids, kinds or keys the portal stores.
func join(parts ...[]byte) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			out = append(out, 0)
		}
		out = append(out, p...)
	}
	return out
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode: %w", err)
	}
	return b.Put(key, data)
}

// getRecord decodes the record at key in b: ErrNotFound for none, or for
// no key.
func getRecord[T any](b *bolt.Bucket, key string) (T, error) {
	var v T
	if key == "" {
		return v, ErrNotFound
	}
	err := getJSON(b, []byte(key), &v)
	return v, err
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("store: decode record %q: %w", key, err)
	}
	return nil
}

func seqFromKey(k []byte) uint64 { return binary.BigEndian.Uint64(k) }
