package tui

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/tui/common"
	gossh "golang.org/x/crypto/ssh"
)

type identityKey struct{}

// IdentityFrom returns the identity the identity middleware put on ctx.
func IdentityFrom(ctx ssh.Context) (common.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(common.Identity)
	return id, ok
}

// recoverMiddleware ends only the panicking session, logging the stack.
func recoverMiddleware(logger *slog.Logger, obs Observer) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			defer func() {
				if r := recover(); r != nil {
					obs.PanicRecovered()
					logger.Error("session panic", "panic", fmt.Sprint(r), "remote", s.RemoteAddr().String(),
						"stack", string(debug.Stack()))
					_, _ = fmt.Fprint(s.Stderr(), "\r\nSomething went wrong on our side; your account is safe. Please reconnect.\r\n")
					_ = s.Exit(1)
				}
			}()
			next(s)
		}
	}
}

// loggingMiddleware logs each session's start and end with log/slog.
func loggingMiddleware(logger *slog.Logger, now func() time.Time) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			start := now()
			_, _, pty := s.Pty()
			fp := ""
			if k := s.PublicKey(); k != nil {
				fp = gossh.FingerprintSHA256(k)
			}
			logger.Info("session start", "remote", s.RemoteAddr().String(), "user", s.User(),
				"key", fp, "pty", pty, "command", strings.Join(s.Command(), " "))
			next(s)
			logger.Info("session end", "remote", s.RemoteAddr().String(), "key", fp,
				"duration", now().Sub(start).Round(time.Millisecond).String())
		}
	}
}

// identityMiddleware resolves who the session is from the key it
// authenticated with. The SSH library sets s.PublicKey only from the
// permissions of the successful authentication, so a key that was merely
// offered (CVE-2024-45337) never becomes the identity.
func identityMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			k := s.PublicKey()
			if k == nil {
				wish.Fatalln(s, "This portal accepts public-key authentication only.")
				return
			}
			s.Context().SetValue(identityKey{}, common.Identity{
				Fingerprint: gossh.FingerprintSHA256(k),
				PublicKey:   strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))),
			})
			next(s)
		}
	}
}
