package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/portal/portal/app"
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
