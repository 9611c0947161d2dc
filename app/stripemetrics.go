package app

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/portal/portal/metrics"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/form"
)

// meteredBackend times every Stripe API call and counts it by operation
// (method and path with ids elided: "POST /v1/subscriptions/{id}") and
// outcome ("ok", Stripe's error type, or "network_error").
type meteredBackend struct {
	stripe.Backend
	m *metrics.Metrics
}

func (b meteredBackend) observe(method, path string, start time.Time, err error) {
	b.m.StripeCall(stripeOperation(method, path), stripeOutcome(err), time.Since(start))
}

func (b meteredBackend) Call(method, path, key string, params stripe.ParamsContainer, v stripe.LastResponseSetter) (err error) {
	defer func(start time.Time) { b.observe(method, path, start, err) }(time.Now())
	return b.Backend.Call(method, path, key, params, v)
}

func (b meteredBackend) CallStreaming(method, path, key string, params stripe.ParamsContainer, v stripe.StreamingLastResponseSetter) (err error) {
	defer func(start time.Time) { b.observe(method, path, start, err) }(time.Now())
	return b.Backend.CallStreaming(method, path, key, params, v)
}

func (b meteredBackend) CallRaw(method, path, key string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) (err error) {
	defer func(start time.Time) { b.observe(method, path, start, err) }(time.Now())
	return b.Backend.CallRaw(method, path, key, body, params, v)
}

func (b meteredBackend) CallMultipart(method, path, key, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) (err error) {
	defer func(start time.Time) { b.observe(method, path, start, err) }(time.Now())
	return b.Backend.CallMultipart(method, path, key, boundary, body, params, v)
}

// stripeOperation is method and path with object ids replaced by {id}, so
// the label has one value per endpoint. Stripe ids have a prefix and an
// underscore and mix in capitals or digits; resource names (payment_methods)
// are lowercase words.
func stripeOperation(method, path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if i >= 2 && strings.Contains(p, "_") && strings.ContainsFunc(p, func(r rune) bool {
			return (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		}) {
			parts[i] = "{id}"
		}
	}
	return method + " " + strings.Join(parts, "/")
}

func stripeOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Type != "" {
		return string(se.Type)
	}
	return "network_error"
}
