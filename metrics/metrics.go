// Package metrics holds the portal's Prometheus metrics: one Metrics value,
// made by the app and handed to each part that reports, on a private
// registry served by Handler. No package-level state.
//
// Names follow Prometheus conventions: a portal_ prefix, _total on
// counters, seconds for durations. Labels take values from fixed sets
// (event types come from Stripe's list, and only after the signature
// checked); never an email, account id, event id or IP.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Webhook outcomes, the values of portal_webhook_events_total's outcome label.
const (
	OutcomeProcessed    = "processed"
	OutcomeDuplicate    = "duplicate"
	OutcomeIgnored      = "ignored"
	OutcomeFailed       = "failed"
	OutcomeBadSignature = "bad_signature"
	OutcomeRejected     = "rejected" // not a Stripe event: wrong method, no body, old API version
)

// Metrics is every metric the portal exports. Methods on a nil *Metrics do
// nothing, so parts built without metrics (tests) need no stand-in.
type Metrics struct {
	reg *prometheus.Registry

	sessionsOpen      prometheus.Gauge
	sessionsStarted   prometheus.Counter
	sessionDuration   prometheus.Histogram
	authAttempts      *prometheus.CounterVec
	sshRefused        *prometheus.CounterVec
	httpRefused       *prometheus.CounterVec
	handshakeFailures prometheus.Counter
	panics            prometheus.Counter

	webhookEvents  *prometheus.CounterVec
	webhookLatency prometheus.Histogram
	webhookLag     prometheus.Histogram

	stripeCalls   *prometheus.CounterVec
	stripeLatency *prometheus.HistogramVec

	storeTx *prometheus.HistogramVec

	mail *prometheus.CounterVec
}

// New returns the metrics on a fresh registry with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.sessionsOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "portal_ssh_sessions_open", Help: "SSH sessions open now."})
	m.sessionsStarted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_ssh_sessions_started_total", Help: "SSH sessions started."})
	m.sessionDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "portal_ssh_session_duration_seconds", Help: "How long SSH sessions lasted.",
		Buckets: []float64{1, 5, 15, 60, 300, 900, 1800, 3600, 4 * 3600}})
	m.authAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_ssh_auth_attempts_total", Help: "SSH authentication attempts by method and result (accepted, rejected)."},
		[]string{"method", "result"})
	m.sshRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_ssh_refused_total", Help: "SSH connections and sessions refused by a limit, by reason: rate (new sessions per IP), total and per-address (open connections), sessions (per connection)."},
		[]string{"reason"})
	m.httpRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_http_refused_total", Help: "HTTP connections and requests refused by a limit, by reason: connections, link_rate."},
		[]string{"reason"})
	m.handshakeFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_ssh_handshake_failures_total", Help: "SSH connections that failed before authenticating (bad protocol, timeout, auth given up)."})
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_ssh_panics_recovered_total", Help: "Panics in a session recovered (the session ended, the server kept serving)."})

	m.webhookEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_webhook_events_total", Help: "Stripe webhook deliveries by event type and outcome."},
		[]string{"type", "outcome"})
	m.webhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "portal_webhook_handling_seconds", Help: "Time from receiving a webhook delivery to answering it.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10)})
	m.webhookLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "portal_webhook_lag_seconds", Help: "Time from a processed event's creation at Stripe to its commit here.",
		Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600}})

	m.stripeCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_stripe_requests_total", Help: "Stripe API calls by operation (method and path, ids elided) and outcome."},
		[]string{"operation", "outcome"})
	m.stripeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "portal_stripe_request_duration_seconds", Help: "Stripe API call latency, retries included.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 9)}, []string{"operation"})

	m.storeTx = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "portal_store_tx_duration_seconds", Help: "Store transactions, commit included, by kind (update, view).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 3, 10)}, []string{"op"})

	m.mail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_mail_notices_total", Help: "Notices the mailer tried to send, by result (sent, failed)."},
		[]string{"result"})

	for _, c := range []prometheus.Collector{
		m.sessionsOpen, m.sessionsStarted, m.sessionDuration, m.authAttempts, m.sshRefused, m.httpRefused,
		m.handshakeFailures, m.panics, m.webhookEvents, m.webhookLatency, m.webhookLag,
		m.stripeCalls, m.stripeLatency, m.storeTx, m.mail,
	} {
		f(c)
	}
	// Zero series exist from the start, so rate() and alerts see them
	// before the first event.
	for _, r := range []string{"sent", "failed"} {
		m.mail.WithLabelValues(r)
	}
	for _, r := range []string{"rate", "total", "per-address", "sessions"} {
		m.sshRefused.WithLabelValues(r)
	}
	for _, r := range []string{"connections", "link_rate"} {
		m.httpRefused.WithLabelValues(r)
	}
	return m
}

// Registry is the private registry, for collectors registered elsewhere
// (see StateCollector) and for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SessionStarted counts a session and returns the function that ends it.
func (m *Metrics) SessionStarted() (ended func()) {
	if m == nil {
		return func() {}
	}
	start := time.Now()
	m.sessionsStarted.Inc()
	m.sessionsOpen.Inc()
	return func() {
		m.sessionsOpen.Dec()
		m.sessionDuration.Observe(time.Since(start).Seconds())
	}
}

// AuthAttempt counts one authentication attempt. method is the SSH method
// name; unknown names are counted as "other".
func (m *Metrics) AuthAttempt(method string, accepted bool) {
	if m == nil {
		return
	}
	switch method {
	case "none", "publickey", "password", "keyboard-interactive", "hostbased", "gssapi-with-mic":
	default:
		method = "other"
	}
	result := "rejected"
	if accepted {
		result = "accepted"
	}
	m.authAttempts.WithLabelValues(method, result).Inc()
}

// RateLimited counts a session refused by the per-IP session rate.
func (m *Metrics) RateLimited() { m.SSHRefused("rate") }

// SSHRefused counts an SSH connection or session a limit refused; reason is
// one of rate, total, per-address, sessions.
func (m *Metrics) SSHRefused(reason string) {
	if m != nil {
		m.sshRefused.WithLabelValues(reason).Inc()
	}
}

// HTTPRefused counts an HTTP connection or request a limit refused; reason
// is connections or link_rate.
func (m *Metrics) HTTPRefused(reason string) {
	if m != nil {
		m.httpRefused.WithLabelValues(reason).Inc()
	}
}

// HandshakeFailed counts a connection that failed before a session.
func (m *Metrics) HandshakeFailed() {
	if m != nil {
		m.handshakeFailures.Inc()
	}
}

// PanicRecovered counts a recovered session panic.
func (m *Metrics) PanicRecovered() {
	if m != nil {
		m.panics.Inc()
	}
}

// Webhook records one delivery. eventType is "" for deliveries refused
// before the signature was verified (their type is the sender's word);
// lag is observed for processed events only, when positive.
func (m *Metrics) Webhook(eventType, outcome string, latency, lag time.Duration) {
	if m == nil {
		return
	}
	if eventType == "" {
		eventType = "unverified"
	}
	m.webhookEvents.WithLabelValues(eventType, outcome).Inc()
	m.webhookLatency.Observe(latency.Seconds())
	if outcome == OutcomeProcessed && lag > 0 {
		m.webhookLag.Observe(lag.Seconds())
	}
}

// StripeCall records one Stripe API call.
func (m *Metrics) StripeCall(operation, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.stripeCalls.WithLabelValues(operation, outcome).Inc()
	m.stripeLatency.WithLabelValues(operation).Observe(d.Seconds())
}

// StoreTx records one store transaction (store.TxObserver).
func (m *Metrics) StoreTx(op string, d time.Duration) {
	if m != nil {
		m.storeTx.WithLabelValues(op).Observe(d.Seconds())
	}
}

// Mail records one notice mailed (sent) or not (failed).
func (m *Metrics) Mail(sent bool) {
	if m == nil {
		return
	}
	if sent {
		m.mail.WithLabelValues("sent").Inc()
	} else {
		m.mail.WithLabelValues("failed").Inc()
	}
}
