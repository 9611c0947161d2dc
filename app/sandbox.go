package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/billing/sandbox"
)

// SandboxConfig configures RunSandbox: the offline sandbox alone on its own
// address, for several portal instances (one sandbox, one clock).
type SandboxConfig struct {
	Addr       string // listen address, e.g. "127.0.0.1:12111"
	PublicURL  string // where browsers reach it (checkout pages); default http://localhost:<port>
	DataDir    string // its state, API key and webhook secret
	WebhookURL string // where it POSTs signed events: the load balancer's, or one instance's
	PlansFile  string // the catalog whose prices it creates at start (same as the instances')
	Logger     *slog.Logger
	// Ready, when set, is called with the listen address once it serves.
	Ready func(addr string)
}

// Sandbox file names in SandboxConfig.DataDir. Instances read the key and
// the secret from these files (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET).
const (
	SandboxAPIKeyFile        = "sandbox_api_key"
	SandboxWebhookSecretFile = "webhook_secret"
)

// RunSandbox serves the sandbox at cfg.Addr until ctx ends. Instances point
// STRIPE_API_BASE at it, use its API key as STRIPE_SECRET_KEY and its webhook
// secret as STRIPE_WEBHOOK_SECRET; it creates the catalog's prices at start,
// so no `portal stripe-setup` is needed. Deliveries that fail are retried by
// the sandbox, so an instance that dies mid-delivery is covered by the next
// attempt going through the load balancer to another.
func RunSandbox(ctx context.Context, cfg SandboxConfig, out io.Writer) error {
	if cfg.WebhookURL == "" {
		return errors.New("sandbox: -webhook-url is required: the URL the sandbox delivers events to (the load balancer's, or one instance's /webhooks/stripe)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	keyPath := filepath.Join(cfg.DataDir, SandboxAPIKeyFile)
	secretPath := filepath.Join(cfg.DataDir, SandboxWebhookSecretFile)
	key, err := sandbox.LoadOrCreateAPIKey(keyPath)
	if err != nil {
		return err
	}
	secret, err := sandbox.LoadOrCreateWebhookSecret(secretPath)
	if err != nil {
		return err
	}
	catalog, err := loadCatalog(cfg.PlansFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:" + port
	}
	sb, err := sandbox.Open(sandbox.Config{
		Path: filepath.Join(cfg.DataDir, "sandbox.db"), APIKey: key,
		BaseURL: cfg.PublicURL, WebhookURL: cfg.WebhookURL, WebhookSecret: secret,
		Logger: cfg.Logger.With("component", "sandbox"),
	})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	local := newStripeClient(key, "http://sandbox.local", &http.Client{Transport: inProcess{sb.Handler()}}, cfg.Logger, nil)
	if _, err := billing.Setup(ctx, local, catalog, "", io.Discard); err != nil {
		_ = sb.Close()
		return fmt.Errorf("sandbox: create plan prices: %w", err)
	}
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "sandbox: API on http://%s, delivering webhooks to %s\n", ln.Addr(), cfg.WebhookURL)
	fmt.Fprintf(out, "instances: STRIPE_API_BASE=http://%s STRIPE_SECRET_KEY=$(cat %s) STRIPE_WEBHOOK_SECRET=$(cat %s)\n", ln.Addr(), keyPath, secretPath)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return errors.Join(err, sb.CloseContext(sctx))
}
