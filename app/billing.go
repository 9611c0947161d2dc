package app

import (
	"context"
	"fmt"
	"github.com/portal/portal/internal/secfile"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/billing/sandbox"
)

// anyTestKey is the key sent to stripe-mock, which accepts any test key.
const anyTestKey = "sk_test_portal"

// sandboxKeyPath is where the sandbox's API key lives: only this portal and
// `portal stripe-setup` on the same data dir may call the sandbox's API,
// though its checkout and portal pages are public.
func sandboxKeyPath(dataDir string) string { return filepath.Join(dataDir, "sandbox_api_key") }

// setupBilling builds the Stripe client and the billing service: against
// the offline sandbox (mounted on our own HTTP server) when no Stripe key or
// API base is configured, otherwise against that Stripe.
func (a *App) setupBilling() error {
	cfg := a.cfg
	_, port, _ := net.SplitHostPort(a.httpLn.Addr().String())
	if a.cfg.PublicURL == "" {
		a.cfg.PublicURL = "http://localhost:" + port
	}
	// Server-to-itself traffic goes over loopback whatever the listen host.
	self := "http://127.0.0.1:" + port
	now := cfg.Now
	a.webhookSecret = cfg.Stripe.WebhookSecret
	if cfg.Stripe.Sandboxed() {
		key, err := sandbox.LoadOrCreateAPIKey(sandboxKeyPath(cfg.DataDir))
		if err != nil {
			return err
		}
		if a.webhookSecret == "" {
			if a.webhookSecret, err = sandbox.LoadOrCreateWebhookSecret(filepath.Join(cfg.DataDir, "webhook_secret")); err != nil {
				return err
			}
		}
		// The portal talks to its own HTTP server both ways (stripe-go to the
		// sandbox, the sandbox's webhooks back); these transports are closed
		// before that server shuts down (see App.closeSelfClients).
		toSandbox, toPortal := a.selfTransport(), a.selfTransport()
		sb, err := sandbox.Open(sandbox.Config{
			HTTPClient:    &http.Client{Transport: toPortal, Timeout: 10 * time.Second},
			Path:          filepath.Join(cfg.DataDir, "sandbox.db"),
			APIKey:        key,
			BaseURL:       a.cfg.PublicURL + "/sandbox",
			WebhookURL:    self + "/webhooks/stripe",
			WebhookSecret: a.webhookSecret,
			Now:           cfg.Now,
			// Stripe's retry setting, as the operator chose it for the sandbox.
			FailedPaymentOutcome: cfg.SandboxFailedPayment,
			PaymentRetryDelays:   cfg.SandboxRetryDelays,
			Logger:               cfg.Logger.With("component", "sandbox"),
			// Its pages write amounts and cards as the portal's screens do.
			Amount: billing.FormatAmount,
			Card:   billing.CardName,
			// Countdowns read this clock: a move redraws them at once. The
			// UI is made after the sandbox, and before anything can move it.
			OnAdvance: func() {
				if a.ui != nil {
					a.ui.Registry().WakeAll()
				}
			},
		})
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		a.sandbox = sb
		now = sb.Now
		a.sandboxKey = key
		a.api = newStripeClient(key, self+"/sandbox", &http.Client{Transport: toSandbox, Timeout: 30 * time.Second}, cfg.Logger, a.metrics)
	} else {
		key := cfg.Stripe.SecretKey
		if key == "" {
			key = anyTestKey
		}
		a.api = newStripeClient(key, cfg.Stripe.APIBase, nil, cfg.Logger, a.metrics)
		if a.sandboxClock = probeSandboxClock(a.api, cfg.Stripe, cfg.Now); a.sandboxClock != nil {
			now = a.sandboxClock.Now
			a.sandboxClock.onMove = func() {
				if a.ui != nil {
					a.ui.Registry().WakeAll()
				}
			}
		}
		if a.webhookSecret == "" {
			a.log.Warn("STRIPE_WEBHOOK_SECRET is not set: webhooks will be refused; run `portal stripe-setup` or `stripe listen` for one")
		}
	}
	catalog, err := loadCatalog(cfg.PlansFile)
	if err != nil {
		return err
	}
	svc, err := billing.New(billing.Config{
		API: a.api, Store: a.store, Catalog: catalog, Now: now,
		PublicURL: a.cfg.PublicURL, TrialDays: cfg.TrialDays, TrialEndBehavior: cfg.TrialEndBehavior, DowngradeAt: cfg.DowngradeAt, Logger: cfg.Logger.With("component", "billing"),
	})
	if err != nil {
		return err
	}
	a.billing = svc
	if a.sandbox != nil {
		// Ensure the plan prices exist before anyone can pick a plan. Our HTTP
		// server does not serve yet, so this goes to the sandbox in-process.
		local := newStripeClient(a.sandboxKey, "http://sandbox.local", &http.Client{Transport: inProcess{a.sandbox.Handler()}}, cfg.Logger, nil)
		if _, err := billing.Setup(context.Background(), local, catalog, "", io.Discard); err != nil {
			return fmt.Errorf("sandbox: create plan prices: %w", err)
		}
	}
	return nil
}

// StripeSetup prepares the Stripe account (or a sandbox at cfg.Stripe.APIBase)
// for the portal: prices by lookup key and a webhook endpoint for
// <PublicURL>/webhooks/stripe. See billing.Setup.
func StripeSetup(ctx context.Context, cfg Config, out io.Writer) error {
	cfg.setDefaults()
	key := cfg.Stripe.SecretKey
	if key == "" {
		// The sandbox of a portal on this data dir: its key is in the file.
		k, err := secfile.ReadFile(sandboxKeyPath(cfg.DataDir), secfile.Private, "sandbox API key")
		if err != nil {
			return fmt.Errorf("no STRIPE_SECRET_KEY, and the sandbox's key could not be read (start the portal once with -data-dir %s): %w", cfg.DataDir, err)
		}
		key = strings.TrimSpace(string(k))
	}
	catalog, err := loadCatalog(cfg.PlansFile)
	if err != nil {
		return err
	}
	public := cfg.PublicURL
	if public == "" {
		_, port, _ := net.SplitHostPort(cfg.HTTPAddr)
		public = "http://localhost:" + port
	}
	webhookURL := public + "/webhooks/stripe"
	if cfg.Stripe.SecretKey == "" {
		// The sandbox already delivers every event to the portal that runs it,
		// signed with the portal's secret; an endpoint would deliver each
		// twice, the copy signed with a secret the portal does not know.
		webhookURL = ""
		fmt.Fprintln(out, "sandbox: no webhook endpoint needed, the sandbox delivers to its portal")
	}
	_, err = billing.Setup(ctx, newStripeClient(key, cfg.Stripe.APIBase, nil, cfg.Logger, nil), catalog, webhookURL, out)
	return err
}

// loadCatalog returns the built-in plans, or those of the plans file.
func loadCatalog(path string) (billing.Catalog, error) {
	if path == "" {
		return billing.DefaultCatalog(), nil
	}
	c, err := billing.LoadCatalog(path)
	if err != nil {
		return c, plansFileError(path, err)
	}
	return c, nil
}

// selfTransport returns a new transport for a client of the portal's own
// HTTP server, remembered so it can be closed at shutdown.
func (a *App) selfTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	a.selfTransports = append(a.selfTransports, t)
	return t
}

// closeSelfClients drops the idle connections of the portal's clients of
// itself. A transport that dialled while another connection became free
// keeps the new one idle, never having sent a request on it; the server
// sees it as new, and http.Server.Shutdown waits 5 s for such connections.
func (a *App) closeSelfClients() {
	for _, t := range a.selfTransports {
		t.CloseIdleConnections()
	}
}
