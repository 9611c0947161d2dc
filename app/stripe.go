package app

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/portal/portal/metrics"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// newStripeClient returns a stripe-go client for key whose API calls go to
// baseURL ("" = api.stripe.com), counted in m when m is not nil. No
// package-level state is touched.
func newStripeClient(key, baseURL string, hc *http.Client, logger *slog.Logger, m *metrics.Metrics) *client.API {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := func(url string) *stripe.BackendConfig {
		c := &stripe.BackendConfig{
			HTTPClient:    hc,
			LeveledLogger: stripeLogger{logger},
			// Retries reuse the idempotency key, so they are safe for POSTs.
			MaxNetworkRetries: stripe.Int64(2),
		}
		if url != "" {
			c.URL = stripe.String(url)
		}
		return c
	}
	var api stripe.Backend = stripe.GetBackendWithConfig(stripe.APIBackend, cfg(baseURL))
	if m != nil {
		api = meteredBackend{Backend: api, m: m}
	}
	return client.New(key, &stripe.Backends{
		API:     api,
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg("")),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg("")),
	})
}

// inProcess is an http.RoundTripper that serves every request with h in
// this process: stripe-go's full HTTP encoding, no socket. The portal uses it
// to talk to its sandbox before its own HTTP server serves.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(w, r)
	return &http.Response{
		Status: http.StatusText(w.status), StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Request: r,
	}, nil
}

// bufferedResponse is the http.ResponseWriter behind inProcess (httptest's
// recorder would do, but registers a command-line flag in a server binary).
type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// stripeLogger sends stripe-go's warnings and errors to slog. Its debug and
// info lines (one per request) are dropped: the portal logs what it did.
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(string, ...any) {}
func (s stripeLogger) Infof(string, ...any)  {}
func (s stripeLogger) Warnf(format string, v ...any) {
	s.l.Warn("stripe", "msg", fmt.Sprintf(format, v...))
}
func (s stripeLogger) Errorf(format string, v ...any) {
	s.l.Error("stripe", "msg", fmt.Sprintf(format, v...))
}
