package app

import (
	"net"
	"net/http"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/metrics"
	"github.com/portal/portal/store"
	gossh "golang.org/x/crypto/ssh"
)

// Metrics are the portal's Prometheus metrics (served on MetricsAddr).
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// MetricsAddr is the address the metrics listener listens on, "" when off.
func (a *App) MetricsAddr() string {
	if a.metricsLn == nil {
		return ""
	}
	return a.metricsLn.Addr().String()
}

// authMetrics counts every authentication attempt by method and result,
// as the SSH layer sees it before any middleware.
func authMetrics(m *metrics.Metrics) ssh.Option {
	return func(srv *ssh.Server) error {
		prev := srv.ServerConfigCallback
		srv.ServerConfigCallback = func(ctx ssh.Context) *gossh.ServerConfig {
			cfg := &gossh.ServerConfig{}
			if prev != nil {
				cfg = prev(ctx)
			}
			cfg.AuthLogCallback = func(_ gossh.ConnMetadata, method string, err error) {
				m.AuthAttempt(method, err == nil)
			}
			return cfg
		}
		return nil
	}
}

// limitHooks counts what the SSH and HTTP limits refuse, then calls the
// hooks h already had.
func limitHooks(m *metrics.Metrics, h LimitHooks) LimitHooks {
	chain := func(f func(), next func()) func() {
		return func() {
			f()
			if next != nil {
				next()
			}
		}
	}
	ssh := h.SSH
	refused, failed, sessions := ssh.Refused, ssh.HandshakeFailed, ssh.SessionRefused
	h.SSH.Refused = func(reason string) {
		m.SSHRefused(reason)
		if refused != nil {
			refused(reason)
		}
	}
	h.SSH.HandshakeFailed = func(err error) {
		m.HandshakeFailed()
		if failed != nil {
			failed(err)
		}
	}
	h.SSH.SessionRefused = chain(func() { m.SSHRefused("sessions") }, sessions)
	h.HTTPRefused = chain(func() { m.HTTPRefused("connections") }, h.HTTPRefused)
	h.LinkLimited = chain(func() { m.HTTPRefused("link_rate") }, h.LinkLimited)
	return h
}

// sessionMetrics is the outermost middleware: sessions open, started and
// their duration, whatever the inner middleware decides.
func sessionMetrics(m *metrics.Metrics) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			defer m.SessionStarted()()
			next(s)
		}
	}
}

// observeWebhook feeds the webhook handler's results to the metrics.
func observeWebhook(m *metrics.Metrics) func(billing.WebhookResult) {
	return func(r billing.WebhookResult) { m.Webhook(r.Type, r.Outcome, r.Latency, r.Lag) }
}

// setupMetrics opens the metrics listener (when configured) and registers
// what is read from the store on each scrape.
func (a *App) setupMetrics() error {
	a.metrics.WatchState(metrics.State{
		Store: a.store,
		MRR:   func(c []store.AccountCount) map[string]int64 { return billing.MRR(c, a.billing.Catalog()) },
		Now:   a.billing.Now,
	})
	if a.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return listenError("metrics", "-metrics-addr", a.cfg.MetricsAddr, err)
	}
	a.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	// The main HTTP server's timeouts: -metrics-addr may be public too, and
	// idle or slow connections would otherwise be kept for good.
	hl := a.cfg.HTTPLimits
	a.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: min(10*time.Second, hl.ReadTimeout),
		ReadTimeout: hl.ReadTimeout, WriteTimeout: hl.WriteTimeout, IdleTimeout: hl.IdleTimeout}
	return nil
}
