// Command portal serves the account and billing portal over SSH.
//
//	go run .                 # serve with the embedded defaults
//	go run . -h              # every flag, its environment variable and default
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/sshguard"
	"github.com/portal/portal/store"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

// envFlags registers flags whose defaults come from environment variables,
// so -h can show both names and the default in force.
type envFlags struct {
	fs  *flag.FlagSet
	env map[string]string // flag name → env name
	err error
}

// lookup records env as name's variable and returns its value, if set.
func (e *envFlags) lookup(name, env string) (string, bool) {
	e.env[name] = env
	return os.LookupEnv(env)
}

// fromEnv returns the default in force for flag name: env's value parsed,
// or def when env is unset. A value that does not parse is kept in e.err,
// which run returns.
func fromEnv[T any](e *envFlags, name, env string, def T, parse func(string) (T, error)) T {
	v, ok := e.lookup(name, env)
	if !ok {
		return def
	}
	x, err := parse(v)
	if err != nil {
		e.err = fmt.Errorf("%s=%q: %v", env, v, err)
	}
	return x
}

func (e *envFlags) string(p *string, name, env, def, usage string) {
	e.fs.StringVar(p, name, fromEnv(e, name, env, def, func(v string) (string, error) { return v, nil }), usage)
}

func (e *envFlags) duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	e.fs.DurationVar(p, name, fromEnv(e, name, env, def, time.ParseDuration), usage)
}

func (e *envFlags) float(p *float64, name, env string, def float64, usage string) {
	parse := func(v string) (float64, error) { return strconv.ParseFloat(v, 64) }
	e.fs.Float64Var(p, name, fromEnv(e, name, env, def, parse), usage)
}

func (e *envFlags) int(p *int, name, env string, def int, usage string) {
	e.fs.IntVar(p, name, fromEnv(e, name, env, def, strconv.Atoi), usage)
}

func (e *envFlags) bool(p *bool, name, env string, usage string) {
	e.fs.BoolVar(p, name, fromEnv(e, name, env, false, strconv.ParseBool), usage)
}

// secret registers a value read from the environment only: secrets on a
// command line leak into ps and shell history.
func (e *envFlags) secret(p *string, env string) { *p = os.Getenv(env) }

func (e *envFlags) usage(w io.Writer) func() {
	return func() {
		fmt.Fprintf(w, "Usage: portal [flags]             serve the portal\n       portal [flags] stripe-setup  create plan prices and the webhook endpoint\n       portal [flags] migrate-store copy <data-dir>/portal.db into the empty database of -database-url\n       portal check-store FILE      check a store file (a backup) for consistency\n       portal sandbox -h            the offline sandbox alone, for several instances\n\nFlags (each also read from the environment variable shown):\n")
		e.fs.VisitAll(func(f *flag.Flag) {
			def := fmt.Sprintf(", default %q", f.DefValue)
			if f.DefValue == "" {
				def = "" // the usage says what an empty value means
			}
			fmt.Fprintf(w, "  -%s  (env %s%s)\n    \t%s\n", f.Name, e.env[f.Name], def, f.Usage)
		})
		fmt.Fprintf(w, "\nSecrets, from the environment only:\n"+
			"  STRIPE_SECRET_KEY      Stripe API key; unset (with STRIPE_API_BASE unset) runs the offline sandbox\n"+
			"  STRIPE_WEBHOOK_SECRET  webhook signing secret (whsec_...); generated in the data dir in sandbox mode\n"+
			"  PORTAL_SMTP_URL        smtp://user:pass@host:587?from=billing@example.com; unset keeps mail in the outbox\n"+
			"  PORTAL_HOST_KEY        the SSH host key itself (OpenSSH PEM), instead of -host-key\n")
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	var cfg app.Config
	var logLevel, logFormat string
	fs := flag.NewFlagSet("portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ef := &envFlags{fs: fs, env: map[string]string{}}
	ef.string(&cfg.SSHAddr, "ssh-addr", "PORTAL_SSH_ADDR", ":2222", "SSH listen address")
	ef.string(&cfg.HTTPAddr, "http-addr", "PORTAL_HTTP_ADDR", ":8080", "HTTP listen address (health, webhooks, sandbox)")
	ef.string(&cfg.MetricsAddr, "metrics-addr", "PORTAL_METRICS_ADDR", "127.0.0.1:9222", "Prometheus metrics listen address (/metrics); empty disables")
	ef.string(&cfg.DataDir, "data-dir", "PORTAL_DATA_DIR", "data", "directory for the database, host key and sandbox state")
	ef.duration(&cfg.IdleTimeout, "idle-timeout", "PORTAL_IDLE_TIMEOUT", app.DefaultIdleTimeout, "close sessions after this long without input")
	ef.float(&cfg.RateLimit, "rate-limit", "PORTAL_RATE_LIMIT", 5, "new SSH sessions per second per client IP")
	ef.string(&logLevel, "log-level", "PORTAL_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	ef.string(&logFormat, "log-format", "PORTAL_LOG_FORMAT", "text", "log format: text (logfmt) or json (one object a line)")
	ef.string(&cfg.PublicURL, "public-url", "PORTAL_PUBLIC_URL", "", "URL browsers use to reach the HTTP server (default http://localhost:<http port>)")
	ef.string(&cfg.SSHCommand, "ssh-command", "PORTAL_SSH_COMMAND", "", "how customers reach the SSH server, shown with link codes, e.g. \"ssh -p 2222 portal.example.com\" (default from the address each session came in on)")
	ef.string(&cfg.Stripe.APIBase, "stripe-api-base", "STRIPE_API_BASE", "", "Stripe API base URL, e.g. stripe-mock's (default api.stripe.com, or the sandbox)")
	ef.bool(&cfg.Stripe.AnyAPIVersion, "stripe-any-api-version", "STRIPE_ANY_API_VERSION", "accept webhook events of API versions other than 2023-10-16 (for stripe listen)")
	ef.int(&cfg.TrialDays, "trial-days", "PORTAL_TRIAL_DAYS", app.DefaultTrialDays, "trial length of paid plans, in days")
	ef.string(&cfg.TrialEndBehavior, "trial-end-behavior", "PORTAL_TRIAL_END_BEHAVIOR", "pause",
		"what a trial ending without a card does at Stripe: pause (locked until a card), cancel or create_invoice")
	ef.string(&cfg.DowngradeAt, "downgrade-at", "PORTAL_DOWNGRADE_AT", "period_end",
		"when a move to a cheaper paid plan takes effect: period_end (a subscription schedule, as Stripe's customer portal) or now")
	var retrySchedule string
	ef.string(&cfg.SandboxFailedPayment, "sandbox-failed-payment", "PORTAL_SANDBOX_FAILED_PAYMENT", "unpaid",
		"sandbox only: a subscription's status once payment retries run out: unpaid, canceled or past_due (Stripe: Dashboard retry settings)")
	ef.string(&retrySchedule, "sandbox-retry-schedule", "PORTAL_SANDBOX_RETRY_SCHEDULE", "2d,3d",
		"sandbox only: waits between a failed payment and its retries, e.g. 1d,3d,5d (d = days)")
	ef.string(&cfg.PlansFile, "plans", "PORTAL_PLANS_FILE", "", "JSON file overriding the built-in plan catalog")
	ef.string(&cfg.AdminKeysPath, "admin-keys", "PORTAL_ADMIN_KEYS", "", "authorized_keys file of admin keys, re-read on change (default <data-dir>/admin_keys)")
	ef.duration(&cfg.Retain, "retain", "PORTAL_RETAIN", 90*24*time.Hour, "keep processed webhook events, audit entries and mailed notices this long (2160h = 90 days)")
	ef.duration(&cfg.ReconcileEvery, "reconcile-every", "PORTAL_RECONCILE_EVERY", 10*time.Minute, "how often the reconciler looks for accounts not synced from Stripe lately")
	ef.string(&cfg.DatabaseURL, "database-url", "PORTAL_DATABASE_URL", "", "PostgreSQL URL (postgres://user@host/db) for several instances sharing one store (default: bbolt in <data-dir>/portal.db)")
	ef.string(&cfg.HostKeyPath, "host-key", "PORTAL_HOST_KEY_FILE", "", "SSH host key file (ed25519, OpenSSH format) every instance shares (default <data-dir>/ssh_host_ed25519_key, created if missing)")
	ef.bool(&cfg.AllowGeneratedHostKey, "allow-generated-host-key", "PORTAL_ALLOW_GENERATED_HOST_KEY", "with -database-url, use the data dir's own host key: one instance only (clients of several would see the key change)")
	ef.secret(&cfg.HostKeyPEM, "PORTAL_HOST_KEY")
	// Limits (README "Limits"): what one client can make the portal spend.
	sl, hl := sshguard.DefaultLimits(), app.DefaultHTTPLimits()
	ef.duration(&cfg.HandshakeTimeout, "handshake-timeout", "PORTAL_HANDSHAKE_TIMEOUT", sl.HandshakeTimeout, "SSH: time from connect to the first session, including any wait for a handshake slot")
	ef.int(&cfg.SSHLimits.MaxConns, "max-conns", "PORTAL_MAX_CONNS", sl.MaxConns, "SSH connections open at once")
	ef.int(&cfg.SSHLimits.MaxConnsPerAddr, "max-conns-per-addr", "PORTAL_MAX_CONNS_PER_ADDR", sl.MaxConnsPerAddr, "SSH connections open at once from one address (IPv6: one /64)")
	ef.int(&cfg.SSHLimits.MaxHandshakes, "max-handshakes", "PORTAL_MAX_HANDSHAKES", sl.MaxHandshakes, "SSH handshakes in progress at once; more wait their turn")
	ef.int(&cfg.SSHLimits.MaxSessions, "max-sessions-per-conn", "PORTAL_MAX_SESSIONS_PER_CONN", sl.MaxSessions, "SSH sessions open at once on one connection")
	ef.int(&cfg.SSHLimits.MaxEnvCount, "max-env", "PORTAL_MAX_ENV", sl.MaxEnvCount, "env requests kept per SSH session")
	ef.int(&cfg.SSHLimits.MaxEnvBytes, "max-env-bytes", "PORTAL_MAX_ENV_BYTES", sl.MaxEnvBytes, "bytes of env names and values kept per SSH session")
	ef.float(&cfg.SSHLimits.ResizeRate, "resize-rate", "PORTAL_RESIZE_RATE", sl.ResizeRate, "window changes a session redraws for per second (the latest size always arrives)")
	ef.duration(&cfg.HTTPLimits.ReadTimeout, "http-read-timeout", "PORTAL_HTTP_READ_TIMEOUT", hl.ReadTimeout, "HTTP: time to read a whole request, body included")
	ef.duration(&cfg.HTTPLimits.WriteTimeout, "http-write-timeout", "PORTAL_HTTP_WRITE_TIMEOUT", hl.WriteTimeout, "HTTP: time from a request's headers to the end of its response")
	ef.duration(&cfg.HTTPLimits.IdleTimeout, "http-idle-timeout", "PORTAL_HTTP_IDLE_TIMEOUT", hl.IdleTimeout, "HTTP: close keep-alive connections idle this long")
	ef.int(&cfg.HTTPLimits.MaxConns, "http-max-conns", "PORTAL_HTTP_MAX_CONNS", hl.MaxConns, "HTTP connections open at once; past it: 503")
	ef.float(&cfg.HTTPLimits.LinkRate, "link-rate", "PORTAL_LINK_RATE", hl.LinkRate, "short-link lookups per second per address; past it: 429")
	ef.int(&cfg.HTTPLimits.LinkBurst, "link-burst", "PORTAL_LINK_BURST", hl.LinkBurst, "short-link lookups an address may make at once before -link-rate applies")
	ef.secret(&cfg.Stripe.SecretKey, "STRIPE_SECRET_KEY")
	ef.secret(&cfg.Stripe.WebhookSecret, "STRIPE_WEBHOOK_SECRET")
	ef.secret(&cfg.SMTPURL, "PORTAL_SMTP_URL")
	fs.Usage = ef.usage(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if ef.err != nil {
		return ef.err
	}
	var err error
	if cfg.SandboxRetryDelays, err = parseRetrySchedule(retrySchedule); err != nil {
		return fmt.Errorf("-sandbox-retry-schedule: %v", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		return fmt.Errorf("-log-format %q: use text or json", logFormat)
	}
	switch fs.Arg(0) {
	case "":
	case "stripe-setup":
		return stripeSetup(cfg, stdout)
	case "migrate-store":
		return migrateStore(cfg, stdout)
	case "sandbox":
		return runSandbox(fs.Args()[1:], cfg.PlansFile, cfg.Logger, stdout, stderr)
	case "check-store":
		if fs.NArg() != 2 {
			return fmt.Errorf("check-store takes one file: portal check-store portal.db")
		}
		if err := store.CheckFile(fs.Arg(1)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: consistent\n", fs.Arg(1))
		return nil
	default:
		return fmt.Errorf("unknown command %q (try -h)", fs.Arg(0))
	}

	a, err := app.New(cfg)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(a.SSHAddr())
	fmt.Fprintf(stdout, "portal: SSH on %s, HTTP on %s, data in %s\n", a.SSHAddr(), a.HTTPAddr(), cfg.DataDir)
	if m := a.MetricsAddr(); m != "" {
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", m)
	}
	fmt.Fprintf(stdout, "host key %s\n", a.HostKeyFingerprint())
	fmt.Fprintf(stdout, "try:  ssh -p %s localhost\n", port)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.Run(ctx)
}

// parseRetrySchedule reads a comma-separated list of waits ("2d,3d",
// "12h,2d"; d is days), each positive; "" or "none" is no retries.
func parseRetrySchedule(v string) ([]time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "none" {
		return []time.Duration{}, nil
	}
	var out []time.Duration
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		var d time.Duration
		if n, ok := strings.CutSuffix(item, "d"); ok {
			days, err := strconv.Atoi(n)
			if err != nil {
				return nil, fmt.Errorf("%q: days must be a whole number", item)
			}
			d = time.Duration(days) * 24 * time.Hour
		} else {
			var err error
			if d, err = time.ParseDuration(item); err != nil {
				return nil, fmt.Errorf("%q: %v", item, err)
			}
		}
		if d <= 0 {
			return nil, fmt.Errorf("%q: a wait must be positive", item)
		}
		out = append(out, d)
	}
	return out, nil
}
