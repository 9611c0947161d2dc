package sshserver

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/internal/requestid"
	"github.com/portal/portal/sshguard"
	"github.com/portal/portal/tui/common"
	gossh "golang.org/x/crypto/ssh"
)

// IdentityFrom returns the identity the identity middleware put on ctx.
func IdentityFrom(ctx ssh.Context) (common.Identity, bool) {
	return common.IdentityFrom(ctx)
}

// recoverMiddleware ends only the panicking session, logging the stack.
func recoverMiddleware(logger *slog.Logger, obs Observer) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			defer func() {
				if r := recover(); r != nil {
					obs.PanicRecovered()
					requestid.Logger(s.Context(), logger).Error("session panic", "panic", fmt.Sprint(r), "remote", s.RemoteAddr().String(),
						"stack", string(debug.Stack()))
					_, _ = fmt.Fprint(s.Stderr(), "\r\nSomething went wrong on our side; your account is safe. Please reconnect.\r\n")
					_ = s.Exit(1)
				}
			}()
			next(s)
		}
	}
}

// loggingMiddleware logs each session's start and end with log/slog, with
// the session's request_id: billing's lines for the session carry the same,
// so one grep finds who did what.
func loggingMiddleware(logger *slog.Logger, now func() time.Time) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			logger := requestid.Logger(s.Context(), logger)
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
			common.SetIdentity(s.Context(), common.Identity{
				Fingerprint: gossh.FingerprintSHA256(k),
				PublicKey:   strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))),
			})
			next(s)
		}
	}
}

// programMiddleware runs the session's Bubble Tea program, as wish's
// bubbletea.MiddlewareWithProgramHandler does, except that window sizes
// come from the session's sshguard.Window (latest size wins, at the guard's
// resize rate) instead of the SSH library's channel, which the guard no
// longer feeds: see package sshguard for why.
func programMiddleware(logger *slog.Logger, program func(ssh.Session) *tea.Program) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			p := program(s)
			if p == nil {
				next(s)
				return
			}
			pty, winch, ok := s.Pty()
			if !ok {
				wish.Fatalln(s, "no active terminal, skipping")
				return
			}
			// The program ends when the connection does.
			stop := context.AfterFunc(s.Context(), p.Quit)
			defer stop()
			if w := sshguard.WindowOf(s); w != nil {
				w.Notify(func(cols, rows int) { p.Send(tea.WindowSizeMsg{Width: cols, Height: rows}) })
				defer w.Stop()
			} else {
				ctx, cancel := context.WithCancel(s.Context())
				defer cancel()
				go func() {
					p.Send(tea.WindowSizeMsg{Width: pty.Window.Width, Height: pty.Window.Height})
					for {
						select {
						case <-ctx.Done():
							return
						case win := <-winch:
							p.Send(tea.WindowSizeMsg{Width: win.Width, Height: win.Height})
						}
					}
				}()
			}
			if _, err := p.Run(); err != nil {
				logger.Debug("program ended", "err", err)
			}
			// Restores the terminal if the program ended by a panic.
			p.Kill()
			next(s)
		}
	}
}
