package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/portal/portal/app"
)

// stripeSetup runs `portal stripe-setup`: the plan prices by lookup key and
// a webhook endpoint pinned to API 2023-10-16, created once however often it
// runs. Without a Stripe key it sets up the sandbox of a portal running on
// -http-addr (the sandbox's file is locked by that portal, so it goes
// through its HTTP API like any client).
func stripeSetup(cfg app.Config, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Stripe.Sandboxed() {
		host, port, err := net.SplitHostPort(cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("-http-addr %q: %v", cfg.HTTPAddr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		cfg.Stripe.APIBase = "http://" + net.JoinHostPort(host, port) + "/sandbox"
		fmt.Fprintf(stdout, "No STRIPE_SECRET_KEY: setting up the sandbox of the portal at %s\n", cfg.Stripe.APIBase)
	}
	return app.StripeSetup(ctx, cfg, stdout)
}
