package sshserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	"github.com/charmbracelet/wish/ratelimiter"
	"github.com/muesli/termenv"
	"github.com/portal/portal/sshserver/cmd"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui"
	"github.com/portal/portal/tui/common"
	"golang.org/x/time/rate"
)

// DefaultIdleTimeout is how long a session may go without input when
// Config.IdleTimeout is zero; app and the -idle-timeout flag default to it.
const DefaultIdleTimeout = 30 * time.Minute

// Config is what the SSH layer needs from the rest of the portal.
type Config struct {
	// Store's change feed drives the session registry; it is also the
	// store every session's common.Common reads.
	Store store.Store
	// UI builds each customer session's model; the script commands run
	// on its services (see cmd.Config).
	UI     *tui.UI
	Logger *slog.Logger
	// IdleTimeout closes a session after this long without input (server
	// writes do not count, so a ticking screen still idles out). 0 = 30 min.
	IdleTimeout time.Duration
	// InputRate caps the bytes per second one session's input is read at
	// (burst: one second's worth); 0 = 64 KiB/s. Bubble Tea renders once
	// per 256-byte read, so an unbounded paste pins a core; no typist or
	// sensible paste comes near the cap.
	InputRate int
	// RateLimit is new sessions per second per client IP, with RateBurst.
	RateLimit float64
	RateBurst int
	// Admins decides which authenticated keys are admins; nil means none.
	Admins Admins
	// Ops builds the ops view for an admin session. Only sessions whose
	// authenticated key Admins accepts ever reach it.
	Ops func(c *common.Common) tea.Model
	// Observer hears of refused and rescued sessions; nil: nobody.
	Observer Observer
	// Commands are script commands beyond the customer's (see
	// cmd.Command), listed by help after them.
	Commands []cmd.Command
}

// Admins reports whether the key with this SHA256 fingerprint is an admin.
type Admins interface {
	IsAdmin(fingerprint string) bool
}

// Server serves the portal's terminal interface to SSH sessions: the wish
// middleware stack, panic containment, the program handler (idle timeout,
// input rate, paste bound, terminal queries) and the live session registry.
// The screens are package tui's.
type Server struct {
	cfg      Config
	registry *Registry
	commands *cmd.Table
	closing  atomic.Bool
}

// New returns the server for cfg, filling in defaults.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UI == nil {
		cfg.UI = tui.New(tui.Config{Store: cfg.Store, Logger: cfg.Logger})
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.InputRate == 0 {
		cfg.InputRate = 64 << 10
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 5
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = 20
	}
	commands := cmd.New(cmd.Config{Store: cfg.Store, Billing: cfg.UI.Billing(), Keys: cfg.UI.Keys(), Logger: cfg.Logger, Commands: cfg.Commands})
	return &Server{cfg: cfg, registry: NewRegistry(cfg.Store), commands: commands}
}

// Registry returns the session registry (for live pushes and counts).
func (u *Server) Registry() *Registry { return u.registry }

// Run returns when ctx ends; each session follows the store's change feed
// for its own account (see Registry).
func (u *Server) Run(ctx context.Context) { u.registry.Run(ctx) }

// Shutdown tells every open session that the server is going down.
func (u *Server) Shutdown() {
	u.closing.Store(true)
	u.registry.Broadcast(shutdownMsg{})
}

// shutdownMsg tells the session the server is going down; safeModel quits
// the program on it, for customer and ops sessions alike.
type shutdownMsg struct{}

// Middleware returns the wish middleware stack in wish's order (the last
// element runs first): recover → logging → rate limit → identity →
// commands for sessions without a terminal → active terminal → Bubble Tea.
func (u *Server) Middleware() []wish.Middleware {
	return []wish.Middleware{
		programMiddleware(u.cfg.Logger, u.program),
		activeterm.Middleware(),
		u.commandMiddleware(),
		identityMiddleware(),
		rateLimitMiddleware(observedLimiter{ratelimiter.NewRateLimiter(rate.Limit(u.cfg.RateLimit), u.cfg.RateBurst, 10_000), u.cfg.Observer}),
		loggingMiddleware(u.cfg.Logger, time.Now),
		recoverMiddleware(u.cfg.Logger, u.cfg.Observer),
	}
}

// commandMiddleware answers sessions with a command (ssh host status) or
// without a PTY (ssh -T) in plain text, instead of hanging on a terminal
// that will never come. The commands are in one table (package cmd).
func (u *Server) commandMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			u.touchKey(s)
			if _, _, ok := s.Pty(); ok && len(s.Command()) == 0 {
				next(s)
				// Goodbyes go after the program has left the alternate
				// screen, on stdout, so they stay visible: written while it
				// runs they land on the alternate screen and vanish with it.
				switch {
				case u.closing.Load():
					_, _ = io.WriteString(s, "The portal is going down for maintenance. Please reconnect in a moment.\r\n")
				case s.Context().Value(idleClosedKey{}) != nil:
					_, _ = io.WriteString(s, "Closed after "+tui.DurationWords(u.cfg.IdleTimeout)+" without input.\r\n")
				case s.Context().Value(goodbyeKey{}) != nil:
					_, _ = io.WriteString(s, s.Context().Value(goodbyeKey{}).(string)+"\r\n")
				case s.Context().Value(panickedKey{}) != nil:
					_, _ = io.WriteString(s, "Something went wrong on our side; your account is safe. Please reconnect.\r\n")
					_ = s.Exit(1)
				}
				return
			}
			if len(s.Command()) > 0 {
				admin := u.isAdmin(s)
				_ = s.Exit(u.commands.Run(s, admin, admin && u.cfg.Ops != nil))
				return
			}
			wish.Fatalln(s, "This portal is interactive: connect with a terminal, e.g. ssh -t <host>. "+
				"For scripts: ssh <host> help lists the commands, e.g. status [--json].")
		}
	}
}

// isAdmin reports whether the session's key is an admin's.
func (u *Server) isAdmin(s ssh.Session) bool {
	id, ok := IdentityFrom(s.Context())
	return ok && u.cfg.Admins != nil && u.cfg.Admins.IsAdmin(id.Fingerprint)
}

// touchKey records that the session's key was used (keys screen's "last
// used"); a key without an account, or a store that fails, changes nothing.
func (u *Server) touchKey(s ssh.Session) {
	id, ok := IdentityFrom(s.Context())
	if !ok {
		return
	}
	u.cfg.UI.KeyUsed(s.Context(), id.Fingerprint)
}

// program builds the Bubble Tea program for one session.
func (u *Server) program(s ssh.Session) *tea.Program {
	id, ok := IdentityFrom(s.Context())
	if !ok {
		return nil
	}
	r, query := newSessionRenderer(s)
	if env := s.Environ(); hasEnv(env, "NO_COLOR") {
		r.SetColorProfile(termenv.Ascii)
	}
	c := &common.Common{
		Ctx:      s.Context(),
		Logger:   u.cfg.Logger,
		Now:      u.cfg.UI.Now,
		Styles:   common.NewStyles(r),
		Keys:     common.NewKeyMap(),
		Identity: id,
		Goodbye:  func(line string) { s.Context().SetValue(goodbyeKey{}, line) },
	}
	pty, _, _ := s.Pty()
	model, load := u.cfg.UI.NewSession(tui.Session{Common: c, Renderer: r, Hyperlinks: pty.Term != "dumb",
		Local: s.LocalAddr(), Remote: s.RemoteAddr().String()})
	if u.cfg.Ops != nil && u.cfg.Admins != nil && u.cfg.Admins.IsAdmin(id.Fingerprint) {
		model = u.cfg.Ops(c)
	}
	var p *tea.Program
	model = safeModel{m: model, log: u.cfg.Logger, ctx: s.Context(), quit: func() { go p.Quit() }, keys: &keyQueue{}, obs: u.cfg.Observer}
	in := newInputReader(s.Context(), s, u.cfg.InputRate)
	if query {
		if _, err := io.WriteString(s, termQuery); err == nil {
			in.replies = &termReplies{until: time.Now().Add(replyWindow), background: func(dark bool) {
				if !dark {
					r.SetHasDarkBackground(false)
					// Any message redraws the screen in the new colours.
					go p.Send(backgroundMsg{})
				}
			}}
		}
	}
	p = tea.NewProgram(model,
		tea.WithInput(in), tea.WithOutput(s),
		tea.WithAltScreen(), tea.WithoutSignalHandler(),
	)
	live := u.registry.add(p, load)
	c.BindFunc = func(accountID string, seenSeq uint64) { u.registry.bind(live, accountID, seenSeq) }
	go func() {
		t := time.NewTimer(u.cfg.IdleTimeout)
		defer t.Stop()
		defer u.registry.remove(live)
		for {
			select {
			case <-s.Context().Done():
				return
			case <-t.C:
				idle := time.Since(in.last())
				if idle >= u.cfg.IdleTimeout {
					u.cfg.Logger.Info("idle timeout", "key", id.Fingerprint)
					s.Context().SetValue(idleClosedKey{}, true)
					p.Quit()
					return
				}
				t.Reset(u.cfg.IdleTimeout - idle)
			}
		}
	}()
	return p
}

// goodbyeKey holds, in the session's context, the line common.Common's
// Goodbye set, for commandMiddleware to print once the program is gone.
type goodbyeKey struct{}

// backgroundMsg tells the session the terminal reported a light
// background; the next frame uses the colours for it.
type backgroundMsg struct{}

// idleClosedKey marks, in the session's context, a session the idle timeout
// ended, for commandMiddleware to say so once the program is gone.
type idleClosedKey struct{}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == name && v != "" {
			return true
		}
	}
	return false
}

// inputReader reads a session's input at most rate bytes per second and
// records when the client last sent any (for the idle timeout). It also
// takes the terminal's replies to termQuery out of the stream, ends a
// bracketed paste past maxPaste, and hands Bubble Tea at most readChunk
// bytes a read (see readChunk).
type inputReader struct {
	ctx     context.Context
	r       io.Reader
	limit   *rate.Limiter
	nano    atomic.Int64
	replies *termReplies
	paste   pasteBound
	buf     []byte // read from the session, not yet handed on
	pending []byte
}

// readChunk is one less than Bubble Tea v1's read buffer. A read that fills
// its buffer makes it hold back trailing runes until more input comes, so a
// plain paste of exactly 512 bytes (or 100 KiB) showed nothing until the
// next key. Chunks end on a rune boundary and before an escape sequence cut
// by the chunk's end, so neither is torn in two.
const readChunk = 255

func newInputReader(ctx context.Context, r io.Reader, bytesPerSec int) *inputReader {
	i := &inputReader{ctx: ctx, r: r, limit: rate.NewLimiter(rate.Limit(bytesPerSec), bytesPerSec)}
	i.nano.Store(time.Now().UnixNano())
	return i
}

func (i *inputReader) Read(p []byte) (int, error) {
	for len(i.pending) == 0 {
		if i.buf == nil {
			i.buf = make([]byte, min(i.limit.Burst(), 4096))
		}
		n, err := i.r.Read(i.buf)
		if n > 0 {
			i.nano.Store(time.Now().UnixNano())
			// Waiting after the read holds back the next one; it ends early
			// only when the session does, and then the data read is still
			// returned.
			_ = i.limit.WaitN(i.ctx, n)
			i.pending = i.paste.filter(i.replies.filter(i.buf[:n], time.Now()))
		}
		if err != nil {
			if len(i.pending) == 0 {
				return 0, err
			}
			break
		}
	}
	n := chunkLen(i.pending, min(len(p), readChunk))
	copy(p, i.pending[:n])
	i.pending = i.pending[n:]
	if len(i.pending) == 0 {
		i.pending = nil
	}
	return n, nil
}

// chunkLen is how much of b to hand on in a read of at most max bytes.
func chunkLen(b []byte, limit int) int {
	if len(b) <= limit {
		return len(b)
	}
	n := limit
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	// An escape sequence is a few bytes (a mouse report at most ~20): one
	// starting close before the cut moves to the next chunk.
	from := max(n-24, 0)
	if esc := bytes.LastIndexByte(b[from:n], 0x1b); esc >= 0 && from+esc > 0 {
		n = from + esc
	}
	if n == 0 {
		n = limit
	}
	return n
}

func (i *inputReader) last() time.Time { return time.Unix(0, i.nano.Load()) }
