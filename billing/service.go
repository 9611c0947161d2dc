package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76/client"
)

// Config wires a Service. API and Store are required.
// DefaultTrialDays is a paid plan's trial when Config.TrialDays is zero;
// app and the -trial-days flag default to it.
const DefaultTrialDays = 30

type Config struct {
	API       *client.API      // stripe-go client for the sandbox, stripe-mock or Stripe; never stripe.Key
	Store     store.Store      // the portal's store (bbolt or PostgreSQL)
	Catalog   Catalog          // zero: DefaultCatalog
	Now       func() time.Time // zero: time.Now; in sandbox mode the sandbox clock
	PublicURL string           // base for checkout and portal return URLs, e.g. http://localhost:8080
	TrialDays int              // zero: DefaultTrialDays
	// TrialEndBehavior is what Stripe does when a trial the portal made
	// ends without a card (trial_settings.end_behavior.missing_payment_method):
	// "pause" (the default: locked until a card), "cancel" (the subscription
	// ends; the customer re-subscribes through Checkout) or "create_invoice"
	// (an invoice that cannot be paid: past due, then the retry setting's
	// outcome).
	TrialEndBehavior string
	// DowngradeAt is when a move to a cheaper paid plan of an active
	// subscription takes effect: "period_end" (the default, as Stripe's own
	// customer portal offers: a subscription schedule switches the price at
	// the current period's end, and the customer keeps what they paid for
	// until then) or "now" (at once, without proration).
	DowngradeAt string
	Logger      *slog.Logger // zero: discard
}

// accountStore is the part of store.Store the Service uses. It is an
// interface so tests can wrap the store and make it fail at a chosen moment.
type accountStore interface {
	Update(ctx context.Context, fn func(store.Tx) error) error
	PendingCheckout(accountID string) (store.PendingCheckout, error)
	Account(id string) (store.Account, error)
	AccountByCustomer(customerID string) (store.Account, error)
	UpdateAccount(id string, fn func(*store.Account) error) (store.Account, error)
	ForEachAccount(fn func(store.Account) bool) error
	EventProcessed(id string) (bool, error)
	ApplyEvent(ev store.Event, accountID string, fn func(*store.Account) error) (store.Account, bool, error)
	RecordEvent(ev store.Event) error
	AddNotice(n store.Notice) (store.Notice, bool, error)
	PutLink(token, target string, expires time.Time) error
	Link(token string, now time.Time) (string, error)
	DeleteExpiredLinks(now time.Time) (int, error)
}

// Service runs every billing action of the portal. It is safe for concurrent use.
type Service struct {
	api       *client.API
	db        accountStore
	cat       Catalog
	now       func() time.Time
	publicURL string
	trialDays int64
	trialEnd  string // Config.TrialEndBehavior
	downAt    string // Config.DowngradeAt
	log       *slog.Logger

	mu     sync.Mutex
	prices map[string]string // lookup key → price id
	// claiming counts, per account id, trial claims this process is making
	// or has sent to Stripe and not yet heard back about (trial.go).
	claiming map[string]int

	// quotes keeps each preview's proration date for the change it previews.
	quotes quotes

	stats webhookCounters
	// syncing orders each customer's fetch-derive-commit sequences (webhook
	// events, resyncs): without it an older fetch could commit after a newer one.
	syncing keyLock
	// checkouts makes one Checkout Session at a time per account (checkout).
	checkouts keyLock
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.API == nil || cfg.Store == nil {
		return nil, errors.New("billing: Config.API and Config.Store are required")
	}
	if len(cfg.Catalog.plans) == 0 {
		cfg.Catalog = DefaultCatalog()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TrialDays == 0 {
		cfg.TrialDays = DefaultTrialDays
	}
	if cfg.TrialDays < 0 || cfg.TrialDays > 730 {
		return nil, fmt.Errorf("billing: trial of %d days: want 1 to 730", cfg.TrialDays)
	}
	switch cfg.TrialEndBehavior {
	case "":
		cfg.TrialEndBehavior = "pause"
	case "pause", "cancel", "create_invoice":
	default:
		return nil, fmt.Errorf("billing: trial end behavior %q: want pause, cancel or create_invoice", cfg.TrialEndBehavior)
	}
	switch cfg.DowngradeAt {
	case "":
		cfg.DowngradeAt = "period_end"
	case "period_end", "now":
	default:
		return nil, fmt.Errorf("billing: downgrade at %q: want period_end or now", cfg.DowngradeAt)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	return &Service{
		api: cfg.API, db: cfg.Store, cat: cfg.Catalog, now: cfg.Now,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), trialDays: int64(cfg.TrialDays), trialEnd: cfg.TrialEndBehavior, downAt: cfg.DowngradeAt, log: cfg.Logger,
		prices: map[string]string{}, claiming: map[string]int{},
	}, nil
}

// Catalog returns the plan catalog.
func (s *Service) Catalog() Catalog { return s.cat }

// Now returns the billing clock (the sandbox clock in sandbox mode), the one
// the trial countdown must read.
func (s *Service) Now() time.Time { return s.now() }

// TrialDays is the length of the trial a paid plan starts with, so screens
// promise exactly what ChoosePlan gives.
func (s *Service) TrialDays() int { return int(s.trialDays) }

// Link is a hosted Stripe page for the customer to open.
type Link struct {
	// URL is what to show: a short link, <PublicURL>/l/<token>, that
	// LinkHandler redirects to Target until ExpiresAt (or Target itself in
	// the rare case the short-link table is full).
	URL       string
	Target    string    // the Stripe page
	ExpiresAt time.Time // when the page (and the short link) expire
	SessionID string
}

// Preview is what a plan change would cost.
type Preview struct {
	PlanID     string
	Upgrade    bool
	AmountDue  int64 // charged now (prorated upgrade of a paid period), minor units
	Currency   string
	NextAmount int64     // the plan's amount on the next regular invoice
	NextAt     time.Time // when that invoice comes; zero when unknown
	// AtPeriodEnd is true when the change waits for the end of the paid
	// period (NextAt): a downgrade with DowngradeAt "period_end".
	AtPeriodEnd bool
}

// CardName is how a card is named to the customer, on screen and in mail:
// "Visa •••• 4242", with Stripe's lowercase brand ("visa", "amex") spelled
// as the card says it.
func CardName(brand, last4 string) string {
	switch strings.ToLower(brand) {
	case "":
		brand = "Card"
	case "visa":
		brand = "Visa"
	case "mastercard":
		brand = "Mastercard"
	case "amex":
		brand = "American Express"
	case "jcb":
		brand = "JCB"
	case "unionpay":
		brand = "UnionPay"
	default:
		brand = strings.ToUpper(brand[:1]) + brand[1:]
	}
	if last4 == "" {
		return brand
	}
	return brand + " •••• " + last4
}
