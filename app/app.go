package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/adminkeys"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/billing/sandbox"
	"github.com/portal/portal/hostkeys"
	"github.com/portal/portal/leader"
	"github.com/portal/portal/mailer"
	"github.com/portal/portal/metrics"
	"github.com/portal/portal/sshguard"
	"github.com/portal/portal/sshserver"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui"
	"github.com/portal/portal/tui/ops"
	"github.com/stripe/stripe-go/v76/client"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"
)

// Config is the portal's configuration. Zero values mean the defaults
// documented on each field; main fills them from flags and environment.
// Defaults that belong to the packages that use them, named here for the
// flags in main.go.
const (
	DefaultIdleTimeout = sshserver.DefaultIdleTimeout
	DefaultTrialDays   = billing.DefaultTrialDays
)

type Config struct {
	SSHAddr  string // default ":2222"; "127.0.0.1:0" picks a free port
	HTTPAddr string // default ":8080"
	DataDir  string // default "./data": store, host key, sandbox state
	// MetricsAddr serves Prometheus metrics on /metrics; "" serves none
	// (the command line's default is 127.0.0.1:9222).
	MetricsAddr string

	Logger *slog.Logger
	// Now is the wall clock; default time.Now.
	Now func() time.Time

	// IdleTimeout closes sessions without input for this long (default
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// HandshakeTimeout bounds how long a connection may take to authenticate
	// and open its first session (default 30s). Without it a client that
	// connects and says nothing, or authenticates and never opens a session
	// (ssh -N), holds a connection for as long as it likes.
	HandshakeTimeout time.Duration
	// RateLimit and RateBurst bound new SSH sessions per client IP
	// (defaults 5/s, burst 20).
	RateLimit float64
	RateBurst int
	// SSHLimits bound what one SSH client can make the portal spend; zero
	// fields take sshguard's defaults. HandshakeTimeout above wins over
	// SSHLimits.HandshakeTimeout.
	SSHLimits sshguard.Limits
	// HTTPLimits bound the HTTP server and the short-link lookups.
	HTTPLimits HTTPLimits
	// LimitHooks count what the limits refuse (for metrics); optional.
	LimitHooks LimitHooks
	// ShutdownTimeout bounds graceful shutdown (default 8s, inside the 10s
	// that process supervisors usually allow).
	ShutdownTimeout time.Duration

	// SSHCommand is how customers reach the SSH server ("ssh -p 2222
	// portal.example.com"), for the link command the keys screen shows; ""
	// derives it from the address each session came in on, which behind a
	// load balancer is the instance's own.
	SSHCommand string
	// PublicURL is where browsers reach the HTTP server (checkout return
	// URLs, sandbox pages); default http://localhost:<http port>.
	PublicURL string
	// Stripe selects the billing backend: with neither SecretKey nor APIBase
	// the portal runs on the offline sandbox.
	Stripe StripeConfig
	// TrialDays is the length of a paid plan's trial (default
	// DefaultTrialDays).
	TrialDays int
	// TrialEndBehavior is what a trial the portal makes does when it ends
	// without a card: pause (default), cancel or create_invoice (billing.Config).
	TrialEndBehavior string
	// DowngradeAt is when a move to a cheaper paid plan takes effect:
	// period_end (default) or now (billing.Config).
	DowngradeAt string
	// SandboxFailedPayment and SandboxRetryDelays are the offline
	// sandbox's retry setting: the status once an invoice's retries are
	// exhausted (unpaid, canceled or past_due; default unpaid) and the
	// waits between them (default 2 and 3 days). Stripe's own are set in
	// its Dashboard.
	SandboxFailedPayment string
	SandboxRetryDelays   []time.Duration
	// PlansFile overrides the built-in plan catalog (JSON; optional).
	PlansFile string
	// AdminKeysPath is an authorized_keys file of admin keys, re-read on
	// change; default <data-dir>/admin_keys (a missing file: no admins).
	AdminKeysPath string
	// SMTPURL enables mail for notices (see package mailer); "" keeps them
	// in the outbox for the ops view.
	SMTPURL string
	// DatabaseURL selects the PostgreSQL store for several instances
	// (cluster.go); "" keeps bbolt in DataDir.
	DatabaseURL string
	// HostKeyPath or HostKeyPEM give the SSH host key every instance
	// shares; neither: DataDir's own, created on first start, which a
	// PostgreSQL store refuses unless AllowGeneratedHostKey.
	HostKeyPath           string
	HostKeyPEM            string
	AllowGeneratedHostKey bool
	// Retain is how long processed webhook events, audit entries and mailed
	// notices are kept (default 90 days); the sandbox's idempotency keys
	// are kept 24 hours, as at Stripe.
	Retain time.Duration
	// ReconcileEvery and ReconcileStale drive the reconciler that re-fetches
	// accounts not synced from Stripe for ReconcileStale (defaults 10m, 1h).
	ReconcileEvery time.Duration
	ReconcileStale time.Duration
}

// HTTPLimits bound what one HTTP client can make the portal spend. Zero
// fields take the defaults documented on each.
type HTTPLimits struct {
	// ReadTimeout bounds reading a whole request, body included (default
	// 15s): a body trickled in slower is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers to
	// the end of its response (default 30s).
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long (default 60s).
	IdleTimeout time.Duration
	// MaxConns caps connections open at once (default 1,000); past it a new
	// connection is answered 503 and closed.
	MaxConns int
	// LinkRate and LinkBurst bound short-link lookups per source address
	// (defaults 1/s, burst 20); past them the answer is 429. A link's token
	// has 130 bits, so the bound is against load, not guessing.
	LinkRate  float64
	LinkBurst int
}

// LimitHooks are called when a limit refuses something (each is optional
// and must be cheap): the place to hang metrics counters.
type LimitHooks struct {
	SSH sshguard.Hooks
	// HTTPRefused is called for each HTTP connection refused past MaxConns.
	HTTPRefused func()
	// LinkLimited is called for each short-link lookup answered 429.
	LinkLimited func()
}

// DefaultHTTPLimits returns the limits a zero HTTPLimits stands for.
func DefaultHTTPLimits() HTTPLimits {
	var l HTTPLimits
	l.setDefaults()
	return l
}

func (l *HTTPLimits) setDefaults() {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 15 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 30 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 60 * time.Second
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 1000
	}
	if l.LinkRate <= 0 {
		l.LinkRate = 1
	}
	if l.LinkBurst <= 0 {
		l.LinkBurst = 20
	}
}

// StripeConfig says which Stripe to talk to.
type StripeConfig struct {
	SecretKey     string // sk_test_... / sk_live_...; "" with APIBase "" = sandbox
	WebhookSecret string // whsec_...; in sandbox mode generated once if empty
	APIBase       string // e.g. stripe-mock's URL; "" = api.stripe.com
	// AnyAPIVersion accepts webhook events of API versions other than
	// 2023-10-16 (stripe listen sends the account's default version).
	AnyAPIVersion bool
}

// Sandboxed reports whether the portal runs on the offline sandbox.
func (s StripeConfig) Sandboxed() bool { return s.SecretKey == "" && s.APIBase == "" }

func (c *Config) setDefaults() {
	if c.SSHAddr == "" {
		c.SSHAddr = ":2222"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":8080"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 30 * time.Second
	}
	c.SSHLimits.HandshakeTimeout = c.HandshakeTimeout
	c.SSHLimits.Hooks = c.LimitHooks.SSH
	c.HTTPLimits.setDefaults()
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 8 * time.Second
	}
	if c.AdminKeysPath == "" {
		c.AdminKeysPath = filepath.Join(c.DataDir, "admin_keys")
	}
	if c.Retain == 0 {
		c.Retain = DefaultRetain
	}
	if c.ReconcileEvery == 0 {
		c.ReconcileEvery = 10 * time.Minute
	}
	if c.ReconcileStale == 0 {
		c.ReconcileStale = time.Hour
	}
}

// App is a running portal: listeners are open once New returns.
type App struct {
	cfg     Config
	log     *slog.Logger
	store   portalStore
	elector leader.Elector
	// sandboxClock follows a sandbox that runs on its own; nil otherwise.
	sandboxClock *sandboxClock
	hostKey      hostkeys.Key
	ui           *sshserver.Server
	ssh          *ssh.Server
	guard        *sshguard.Guard
	http         *http.Server
	sshLn        net.Listener
	httpLn       net.Listener

	sandbox    *sandbox.Sandbox // nil unless sandboxed
	sandboxKey string           // the sandbox's API key
	// selfTransports carry the portal's requests to its own HTTP server.
	selfTransports []*http.Transport
	api            *client.API
	billing        *billing.Service
	webhookSecret  string
	ops            *ops.Ops
	mailer         *mailer.Mailer
	admins         *adminkeys.Keys
	metrics        *metrics.Metrics
	metricsLn      net.Listener // nil when MetricsAddr is ""
	metricsSrv     *http.Server

	// sshServing is true while the SSH server accepts; shuttingDown from
	// the start of shutdown (see readyz).
	sshServing, shuttingDown atomic.Bool
	// pingStore checks the store answers reads (store.DB.Ping; tests
	// replace it to stall the store).
	pingStore func(context.Context) error
}

// New opens the store and host key and starts listening on both addresses.
// It serves nothing until Run.
func New(cfg Config) (_ *App, err error) {
	m := metrics.New()
	cfg.LimitHooks = limitHooks(m, cfg.LimitHooks)
	cfg.setDefaults()
	// Not the named result: "return nil, err" would clear it before the
	// deferred clean-up reads it.
	a := &App{cfg: cfg, log: cfg.Logger, metrics: m}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()
	if a.hostKey, err = loadHostKey(cfg); err != nil {
		return nil, err
	}
	if a.store, a.elector, err = openStore(cfg); err != nil {
		return nil, storeOpenError(cfg.DataDir, err)
	}
	a.pingStore = a.store.Ping
	a.store.SetTxObserver(a.metrics.StoreTx)
	if a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, listenError("http", "-http-addr", cfg.HTTPAddr, err)
	}
	if err = a.setupBilling(); err != nil {
		return nil, err
	}
	if err = a.setupMetrics(); err != nil {
		return nil, err
	}
	admins, err := adminkeys.Load(cfg.AdminKeysPath, cfg.Logger)
	if err != nil {
		return nil, err
	}
	a.admins = admins
	var clock ops.Clock
	if a.sandbox != nil {
		clock = a.sandbox
	} else if a.sandboxClock != nil {
		clock = a.sandboxClock
	}
	if a.ops, err = ops.New(ops.Config{
		Store: a.store, Billing: a.billing, Catalog: a.billing.Catalog(), Clock: clock,
		Admins: admins, Logger: cfg.Logger, Now: a.billing.Now,
	}); err != nil {
		return nil, err
	}
	if a.mailer, err = mailer.New(mailer.Config{URL: cfg.SMTPURL, Store: a.store, Logger: cfg.Logger, Observe: a.metrics.Mail}); err != nil {
		return nil, err
	}
	a.ui = sshserver.New(sshserver.Config{
		Store: a.store, Logger: cfg.Logger,
		UI:          tui.New(tui.Config{Store: a.store, Billing: a.billing, Logger: cfg.Logger, Now: a.billing.Now, SSHCommand: cfg.SSHCommand}),
		IdleTimeout: cfg.IdleTimeout, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		Admins: admins, Ops: a.ops.Model, Observer: a.metrics,
	})
	a.guard = sshguard.New(cfg.SSHLimits, time.Now)
	if nofile, ok := openFileLimit(); ok {
		checkFDLimit(cfg.Logger, nofile, a.guard.Limits().MaxConns, cfg.HTTPLimits.MaxConns)
	}
	if a.ssh, err = wish.NewServer(append([]ssh.Option{
		wish.WithHostKeyPEM(a.hostKey.PEM),
		// Accept any key: who the key belongs to is decided after
		// authentication, from the session's own key.
		wish.WithPublicKeyAuth(func(ctx ssh.Context, _ ssh.PublicKey) bool {
			a.guard.Authenticating(ctx)
			return true
		}),
		wish.WithMiddleware(append(a.ui.Middleware(), a.backupMiddleware, a.guard.Middleware(), sessionMetrics(a.metrics), sessionRequestID())...),
		authMetrics(a.metrics),
		// Bounds connections that carry nothing at all (half-open, ssh -N past
		// its handshake). Sessions are closed earlier, on input idleness, by
		// the UI; server writes reset this timer, so it never cuts a session
		// that the UI keeps.
		wish.WithIdleTimeout(cfg.IdleTimeout + time.Minute),
	}, a.guard.Options()...)...); err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	// Only public keys: no password or keyboard-interactive handlers are set,
	// so the SSH layer refuses those methods outright.
	hl := cfg.HTTPLimits
	a.http = &http.Server{
		Handler:           withRequestID(a.routes()),
		ReadHeaderTimeout: min(10*time.Second, hl.ReadTimeout),
		ReadTimeout:       hl.ReadTimeout,
		WriteTimeout:      hl.WriteTimeout,
		IdleTimeout:       hl.IdleTimeout,
	}
	if a.sshLn, err = net.Listen("tcp", cfg.SSHAddr); err != nil {
		return nil, listenError("ssh", "-ssh-addr", cfg.SSHAddr, err)
	}
	return a, nil
}

// SSHAddr is the address the SSH server listens on.
func (a *App) SSHAddr() string { return a.sshLn.Addr().String() }

// HTTPAddr is the address the HTTP server listens on.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// Store is the portal's store.
func (a *App) Store() store.Store { return a.store }

// HostKeyFingerprint is the SHA256 fingerprint of the SSH host key.
func (a *App) HostKeyFingerprint() string { return a.hostKey.Fingerprint() }

// Sandbox is the offline Stripe sandbox, nil when talking to Stripe.
func (a *App) Sandbox() *sandbox.Sandbox { return a.sandbox }

// SandboxAPIKey is the key the sandbox's API requires ("" unless sandboxed).
func (a *App) SandboxAPIKey() string { return a.sandboxKey }

// Billing is the billing service.
func (a *App) Billing() *billing.Service { return a.billing }

// HostPublicKey is the SSH host's public key, for clients that pin it.
func (a *App) HostPublicKey() gossh.PublicKey { return a.hostKey.Signer.PublicKey() }

// UI is the SSH layer serving the terminal interface (its registry counts
// open sessions).
func (a *App) UI() *sshserver.Server { return a.ui }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "sessions": a.ui.Registry().Len()})
	})
	mux.HandleFunc("GET /livez", a.livez)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("POST /webhooks/stripe", a.billing.WebhookHandler(a.webhookSecret, billing.WebhookOptions{
		AllowAnyAPIVersion: a.cfg.Stripe.AnyAPIVersion,
		Observe:            observeWebhook(a.metrics),
	}))
	a.pages(mux)
	// Short links to Checkout and the billing portal, so a terminal shows a
	// URL that fits on one line and a QR code that scans.
	// Lookups are limited per address: a guess costs a store read.
	hl := a.cfg.HTTPLimits
	mux.Handle("/l/", perAddr(rate.Limit(hl.LinkRate), hl.LinkBurst, a.cfg.LimitHooks.LinkLimited, a.billing.LinkHandler()))
	if a.sandbox != nil {
		mux.Handle("/sandbox/", http.StripPrefix("/sandbox", a.sandbox.Handler()))
	}
	return mux
}

// Run serves SSH and HTTP until ctx ends, then shuts down gracefully: stop
// accepting, tell open sessions the server is going down, wait for them up
// to ShutdownTimeout, close the store. A listener failure ends Run early.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() {
		if err := a.http.Serve(limitHTTP(a.httpLn, a.cfg.HTTPLimits.MaxConns, a.cfg.LimitHooks.HTTPRefused)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if a.metricsSrv != nil {
		go func() {
			if err := a.metricsSrv.Serve(a.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}
	sshLn := newServingListener(a.guard.Listener(a.sshLn))
	go func() {
		err := a.ssh.Serve(sshLn)
		a.sshServing.Store(false)
		if err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			errc <- fmt.Errorf("ssh: %w", err)
		}
	}()
	// Shutdown must not overtake Serve's start (see servingListener).
	select {
	case <-sshLn.serving:
		a.sshServing.Store(true)
	case err := <-errc:
		errc <- err
	}
	var bg sync.WaitGroup
	// Sessions and the ops view run on every instance; the jobs on one.
	for _, run := range append(a.everywhere(), a.jobs()...) {
		bg.Add(1)
		go func() { defer bg.Done(); run(ctx) }()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down")
	a.shuttingDown.Store(true)
	a.ui.Shutdown()
	a.guard.Close()
	sctx, scancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer scancel()
	if err := a.ssh.Shutdown(sctx); err != nil {
		a.log.Warn("ssh sessions did not end in time; closing them", "err", err)
		_ = a.ssh.Close()
	}
	a.closeSelfClients()
	if err := a.http.Shutdown(sctx); err != nil {
		_ = a.http.Close()
	}
	cancel()
	bg.Wait()
	if a.sandbox != nil {
		// Shares the shutdown deadline; deliveries cut short stay pending in
		// the sandbox's file and go out after the next start.
		if err := a.sandbox.CloseContext(sctx); err != nil {
			a.log.Warn("close sandbox", "err", err)
		}
	}
	if a.metricsSrv != nil {
		// Last to go: the scrapes during shutdown see it.
		if err := a.metricsSrv.Shutdown(sctx); err != nil {
			_ = a.metricsSrv.Close()
		}
	}
	if err := a.store.Close(); err != nil {
		a.log.Error("close store", "err", err)
		if runErr == nil {
			runErr = err
		}
	}
	a.log.Info("stopped")
	return runErr
}

// closeAll releases what New opened when New fails part way.
func (a *App) closeAll() {
	if a.sshLn != nil {
		_ = a.sshLn.Close()
	}
	if a.httpLn != nil {
		_ = a.httpLn.Close()
	}
	if a.metricsLn != nil {
		_ = a.metricsLn.Close()
	}
	if a.sandbox != nil {
		_ = a.sandbox.Close()
	}
	if a.store != nil {
		_ = a.store.Close()
	}
}
