// Package requestid gives each HTTP request and SSH session an id that its
// log lines carry, from the handler through billing, so one customer's
// trouble can be followed across components with one grep.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// key is the context key. ssh.Context.SetValue takes it too, via Key.
type key struct{}

// Key is the context key under which the id is stored, for contexts that
// set values in place (ssh.Context.SetValue(requestid.Key, id)).
var Key any = key{}

// New returns a fresh id: 16 hex characters from crypto/rand.
func New() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id ctx carries, "" when none.
func From(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Logger returns l with a request_id attribute when ctx carries an id.
func Logger(ctx context.Context, l *slog.Logger) *slog.Logger {
	if id := From(ctx); id != "" {
		return l.With("request_id", id)
	}
	return l
}
