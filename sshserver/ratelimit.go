package sshserver

import (
	"io"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/ratelimiter"
)

// rateLimitMiddleware is wish's ratelimiter.Middleware with a refusal that
// ends its line (wish's printed "…try again later" with no newline, so the
// client's prompt followed on the same line) and says it in words.
func rateLimitMiddleware(l ratelimiter.RateLimiter) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			if err := l.Allow(s); err != nil {
				eol := "\n"
				if _, _, pty := s.Pty(); pty {
					eol = "\r\n"
				}
				_, _ = io.WriteString(s.Stderr(), "Too many new connections from your address; please try again in a few seconds."+eol)
				_ = s.Exit(1)
				return
			}
			next(s)
		}
	}
}
