package app

import (
	"net/http"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/internal/requestid"
)

// withRequestID gives each HTTP request an id (echoed in X-Request-Id) that
// the handlers' log lines carry, billing's included.
func withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestid.New()
		w.Header().Set("X-Request-Id", id)
		h.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

// sessionRequestID gives each SSH session an id, on its context: billing
// calls made for the session log it.
func sessionRequestID() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			s.Context().SetValue(requestid.Key, requestid.New())
			next(s)
		}
	}
}
