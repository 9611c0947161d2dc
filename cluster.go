package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/store"
	"github.com/portal/portal/store/postgres"
)

// runSandbox runs `portal sandbox`: the offline sandbox alone on its own
// address, for several instances (see README, "Several instances").
func runSandbox(args []string, plansFile string, log *slog.Logger, stdout, stderr io.Writer) error {
	cfg := app.SandboxConfig{PlansFile: plansFile, Logger: log}
	fs := flag.NewFlagSet("portal sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:12111", "listen address of the sandbox's API and pages")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "URL browsers use to reach the sandbox's checkout pages (default http://localhost:<port>)")
	fs.StringVar(&cfg.DataDir, "data-dir", "sandbox-data", "directory for the sandbox's state, API key and webhook secret")
	fs.StringVar(&cfg.WebhookURL, "webhook-url", "", "where to deliver signed events: the load balancer's (or one instance's) /webhooks/stripe (required)")
	fs.Usage = func() {
		io.WriteString(stderr, "Usage: portal [-plans FILE] sandbox -webhook-url URL [flags]\n\nRuns the offline Stripe sandbox alone, for several portal instances.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.RunSandbox(ctx, cfg, stdout)
}

// migrateStore runs `portal migrate-store`: the bbolt file of -data-dir
// copied into the empty PostgreSQL database of -database-url, counts checked.
func migrateStore(cfg app.Config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return errors.New("migrate-store: set -database-url (or PORTAL_DATABASE_URL) to the new, empty PostgreSQL database")
	}
	path := filepath.Join(cfg.DataDir, "portal.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate-store: the bbolt store %s: %w", path, err)
	}
	src, err := store.Open(path, store.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("migrate-store: %w (stop the portal that uses it first)", err)
	}
	defer src.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dst, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	defer dst.Close()
	n, err := dst.Import(ctx, src)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s into PostgreSQL: %d accounts, %d keys, %d events, %d notices, %d audit entries, %d pending checkouts, %d short links, %d link codes (counts checked)\n",
		path, n.Accounts, n.Keys, n.Events, n.Notices, n.Audit, n.PendingCheckouts, n.Links, n.LinkCodes)
	fmt.Fprintln(stdout, "start the instances with -database-url")
	return nil
}
