package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/portal/portal/internal/money"
	"github.com/portal/portal/internal/secfile"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Config configures a Sandbox. Only Path is required.
type Config struct {
	Path          string // bbolt file for the sandbox's own state
	BaseURL       string // public URL of the sandbox mount, e.g. "http://localhost:8080/sandbox"
	WebhookURL    string // where signed events are POSTed; "" delivers nowhere
	WebhookSecret string // whsec_...; signs deliveries to WebhookURL
	// APIKey, when set, is the only key the /v1 API accepts (as a Bearer
	// token or basic-auth user, as Stripe takes it); anything else gets
	// Stripe's 401. Set it whenever the sandbox is reachable by others:
	// the API lists customers and moves the clock. "" accepts any
	// sk_test_/rk_test_ key, for tests. The hosted pages (/checkout/{id},
	// /portal/{id}) never need it: their unguessable ids are the capability.
	// See LoadOrCreateAPIKey.
	APIKey string
	// Now is the base clock (default time.Now). The sandbox clock is Now()
	// plus a persisted offset that only grows.
	Now    func() time.Time
	Logger *slog.Logger
	// HTTPClient delivers webhooks; default has a 10 s timeout.
	HTTPClient *http.Client
	// Tick is how often due work (trial ends, renewals, retries, expiries)
	// is played out in the background: 0 means 1 s; < 0 never (tests call
	// Advance).
	Tick  time.Duration
	Retry RetryPolicy
	// FailedPaymentOutcome is the subscription status once an invoice's
	// payment retries are exhausted, as Stripe's retry setting chooses:
	// "unpaid" (default), "canceled", or "past_due" (left as it is, the
	// invoice open without further attempts).
	FailedPaymentOutcome string
	// PaymentRetryDelays are the waits, on the sandbox clock, between a
	// failed invoice payment and its automatic retries; default 2 and 3
	// days (3 attempts over 5 days).
	PaymentRetryDelays []time.Duration
	// OnAdvance, when set, is called after each move of the clock (Advance
	// or the test clock API), once what fell due has been played out, with
	// no lock held. Whatever reads Now() for display (a countdown) can
	// redraw then instead of at its next tick.
	OnAdvance func()
	// Amount and Card write amounts ("$9.00", "¥1,000", "-$5.00") and
	// cards ("Visa •••• 4242") on the hosted pages and in invoice line
	// descriptions; the portal passes its own, so its pages read like its
	// screens. Defaults: money.Format (the portal's formatter too, right
	// for zero-decimal currencies and credits) and "visa •••• 4242".
	Amount func(amount int64, currency string) string
	Card   func(brand, last4 string) string
}

// Sandbox is an offline, stateful stand-in for the Stripe API subset the
// portal uses. All methods are safe for concurrent use.
type Sandbox struct {
	cfg   Config
	retry RetryPolicy
	log   *slog.Logger
	db    *bolt.DB
	mux   *http.ServeMux

	apiKeyHash []byte // SHA-256 of Config.APIKey; nil accepts any test key

	// mu guards st. API writes, clock advances and delivery bookkeeping
	// take it exclusively; reads share it.
	mu sync.RWMutex
	st *state

	// advanceMu serialises clock advances so due work plays out once, in order.
	advanceMu sync.Mutex

	ctx    context.Context // cancelled by Close to abort in-flight deliveries
	cancel context.CancelFunc
	stop   chan struct{}
	wake   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// Open opens (creating if needed) the sandbox state at cfg.Path and starts
// its background work: webhook delivery, and due work every cfg.Tick.
func Open(cfg Config) (*Sandbox, error) {
	if cfg.Path == "" {
		return nil, errors.New("sandbox: Config.Path is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Amount == nil {
		cfg.Amount = money.Format
	}
	if cfg.Card == nil {
		cfg.Card = func(brand, last4 string) string { return brand + " •••• " + last4 }
	}
	if cfg.Tick == 0 {
		cfg.Tick = time.Second
	}
	switch cfg.FailedPaymentOutcome {
	case "":
		cfg.FailedPaymentOutcome = "unpaid"
	case "unpaid", "canceled", "past_due":
	default:
		return nil, fmt.Errorf("sandbox: FailedPaymentOutcome must be unpaid, canceled or past_due, not %q", cfg.FailedPaymentOutcome)
	}
	for _, d := range cfg.PaymentRetryDelays {
		if d <= 0 {
			return nil, fmt.Errorf("sandbox: PaymentRetryDelays must be positive, not %s", d)
		}
	}
	if cfg.PaymentRetryDelays == nil {
		cfg.PaymentRetryDelays = []time.Duration{48 * time.Hour, 72 * time.Hour}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		return nil, errors.New("sandbox: Config.WebhookSecret is required with WebhookURL")
	}
	if cfg.APIKey != "" && !strings.HasPrefix(cfg.APIKey, "sk_test_") && !strings.HasPrefix(cfg.APIKey, "rk_test_") {
		return nil, errors.New("sandbox: Config.APIKey must be a test-mode key (sk_test_... or rk_test_...)")
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("sandbox: open %s: %w", cfg.Path, err)
	}
	st, err := load(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sandbox: load %s: %w", cfg.Path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{cfg: cfg, retry: cfg.Retry.withDefaults(), log: cfg.Logger, db: db, st: st,
		ctx: ctx, cancel: cancel, stop: make(chan struct{}), wake: make(chan struct{}, 1)}
	if cfg.APIKey != "" {
		h := sha256.Sum256([]byte(cfg.APIKey))
		s.apiKeyHash = h[:]
	}
	s.routes()
	s.wg.Add(1)
	go s.deliverer()
	if cfg.Tick > 0 {
		s.wg.Add(1)
		go s.ticker()
	}
	return s, nil
}

// closeWait is how long Close waits for in-flight webhook deliveries.
const closeWait = 5 * time.Second

// Close is CloseContext bounded by 5 s.
func (s *Sandbox) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	return s.CloseContext(ctx)
}

// CloseContext stops background work, waits until ctx ends for in-flight
// webhook deliveries and closes the database. Deliveries still in flight
// when ctx ends are aborted without counting as an attempt: they stay
// pending in the database and go out again after the next Open. It then
// returns ctx's error (after closing the database), like
// http.Server.Shutdown. Calls after the first return nil.
func (s *Sandbox) CloseContext(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var aborted error
	select {
	case <-done:
	case <-ctx.Done():
		aborted = fmt.Errorf("sandbox: in-flight webhook deliveries left pending for the next Open: %w", ctx.Err())
		s.cancel()
		<-done // aborted posts return at once; the ticker stops between steps
	}
	s.cancel()
	return errors.Join(aborted, s.db.Close())
}

// Handler serves the Stripe API under /v1/ and the hosted pages under
// /checkout/{id} and /portal/{id}, without the mount prefix: mount it with
// http.StripPrefix("/sandbox", h).
func (s *Sandbox) Handler() http.Handler { return s.mux }

// Now returns the sandbox clock: the base clock plus the advanced offset.
func (s *Sandbox) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.Now().Add(s.st.offset)
}

func (s *Sandbox) nowLocked() time.Time { return s.cfg.Now().Add(s.st.offset) }

// Advance moves the sandbox clock forward by d and plays out, in order,
// everything that falls due: on return every state change is committed and
// its events are queued for delivery (delivery itself is asynchronous).
func (s *Sandbox) Advance(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("sandbox: the clock only moves forward (got %s)", d)
	}
	s.advanceMu.Lock()
	defer s.advanceMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("sandbox: closed")
	}
	s.st.offset += d
	err := s.saveOffset(s.st.offset)
	target := s.nowLocked().Unix()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("sandbox: saving clock: %w", err)
	}
	err = s.playOut(ctx, target)
	if s.cfg.OnAdvance != nil {
		s.cfg.OnAdvance()
	}
	return err
}

// advanceTo is Advance to an absolute sandbox time (the test clock API).
func (s *Sandbox) advanceTo(ctx context.Context, to time.Time) error {
	s.mu.RLock()
	d := to.Sub(s.nowLocked())
	s.mu.RUnlock()
	return s.Advance(ctx, max(d, 0))
}

func (s *Sandbox) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.advanceMu.Lock()
			s.mu.RLock()
			target := s.nowLocked().Unix()
			s.mu.RUnlock()
			if err := s.playOut(s.ctx, target); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("sandbox: playing out due work", "error", err)
			}
			s.advanceMu.Unlock()
		}
	}
}

// LoadOrCreateWebhookSecret returns the whsec_ secret stored at path,
// generating it (mode 0600) on first use, so deliveries stay verifiable
// across restarts.
func LoadOrCreateWebhookSecret(path string) (string, error) {
	return loadOrCreateSecret(path, "whsec_", 24, "webhook secret")
}

// LoadOrCreateAPIKey returns the sk_test_ key stored at path, generating
// it (sk_test_ and 32 hex characters, mode 0600) on first use, for
// Config.APIKey and the client that calls the sandbox, so the key survives
// restarts and never has to be configured by hand.
func LoadOrCreateAPIKey(path string) (string, error) {
	return loadOrCreateSecret(path, "sk_test_", 16, "API key")
}

// loadOrCreateSecret returns the prefix-ed secret stored at path, or
// creates the file (mode 0600, exclusively, so concurrent first uses agree)
// holding prefix and n random bytes in hex.
func loadOrCreateSecret(path, prefix string, n int, what string) (string, error) {
	b, err := secfile.ReadFile(path, secfile.Private, "sandbox: "+what)
	if err == nil {
		sec := strings.TrimSpace(string(b))
		if !strings.HasPrefix(sec, prefix) || len(sec) == len(prefix) {
			return "", fmt.Errorf("sandbox: %s does not hold a %s... %s", path, prefix, what)
		}
		return sec, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	sec := prefix + hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race: use its secret
			return loadOrCreateSecret(path, prefix, n, what)
		}
		return "", fmt.Errorf("sandbox: create %s: %w", what, err)
	}
	if _, err := f.WriteString(sec + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return sec, nil
}
