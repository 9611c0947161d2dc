package tui

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
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
	"github.com/portal/portal/accounts"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
	"golang.org/x/time/rate"
)

// Config is what the UI needs from the rest of the portal.
// DefaultIdleTimeout is how long a session may go without input when
// Config.IdleTimeout is zero; app and the -idle-timeout flag default to it.
const DefaultIdleTimeout = 30 * time.Minute

type Config struct {
	Store store.Store
	// Billing runs every plan action and supplies the billing clock the
	// countdowns read (the sandbox clock offline): the *billing.Service.
	// Nil shows the plans but refuses every billing action.
	Billing Billing
	Logger  *slog.Logger
	// Now is the billing clock (the sandbox's offline), for trial and
	// period times; see common.Common.Now.
	Now func() time.Time
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
	// Keys runs every change to an account's keys (link codes, add,
	// remove); nil: one over Store with default limits.
	Keys *accounts.Service
	// Commands are script commands beyond the customer's (see Command),
	// listed by help after them.
	Commands []Command
	// SSHCommand is how customers reach the portal, e.g. "ssh -p 2222
	// portal.example.com", for the link command the keys screen shows;
	// "" derives it from the address the session came in on.
	SSHCommand string
	// Observer hears of refused and rescued sessions; nil: nobody.
	Observer Observer
}

// Admins reports whether the key with this SHA256 fingerprint is an admin.
type Admins interface {
	IsAdmin(fingerprint string) bool
}

// UI serves the portal's terminal interface to SSH sessions.
type UI struct {
	cfg      Config
	keys     *accounts.Service
	registry *Registry
	closing  atomic.Bool
}

// New returns the UI for cfg, filling in defaults.
func New(cfg Config) *UI {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Billing == nil {
		cfg.Billing = noBilling{now: cfg.Now}
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
	if cfg.Keys == nil {
		cfg.Keys = accounts.New(cfg.Store, accounts.Options{Logger: cfg.Logger})
	}
	return &UI{cfg: cfg, keys: cfg.Keys, registry: NewRegistry(cfg.Store)}
}

// Registry returns the session registry (for live pushes and counts).
func (u *UI) Registry() *Registry { return u.registry }

// Run returns when ctx ends; each session follows the store's change feed
// for its own account (see Registry).
func (u *UI) Run(ctx context.Context) { u.registry.Run(ctx) }

// Shutdown tells every open session that the server is going down.
func (u *UI) Shutdown() {
	u.closing.Store(true)
	u.registry.Broadcast(shutdownMsg{})
}

// Middleware returns the wish middleware stack in wish's order (the last
// element runs first): recover → logging → rate limit → identity →
// commands for sessions without a terminal → active terminal → Bubble Tea.
func (u *UI) Middleware() []wish.Middleware {
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
// that will never come. The commands are in one table (commands.go).
func (u *UI) commandMiddleware() wish.Middleware {
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
					_, _ = io.WriteString(s, "Closed after "+durationWords(u.cfg.IdleTimeout)+" without input.\r\n")
				case s.Context().Value(goodbyeKey{}) != nil:
					_, _ = io.WriteString(s, s.Context().Value(goodbyeKey{}).(string)+"\r\n")
				case s.Context().Value(panickedKey{}) != nil:
					_, _ = io.WriteString(s, "Something went wrong on our side; your account is safe. Please reconnect.\r\n")
					_ = s.Exit(1)
				}
				return
			}
			if len(s.Command()) > 0 {
				_ = s.Exit(u.runCommand(s))
				return
			}
			wish.Fatalln(s, "This portal is interactive: connect with a terminal, e.g. ssh -t <host>. "+
				"For scripts: ssh <host> help lists the commands, e.g. status [--json].")
		}
	}
}

// sshCommand is the command that reaches this portal, for instructions.
func (u *UI) sshCommand(s ssh.Session) string {
	if u.cfg.SSHCommand != "" {
		return u.cfg.SSHCommand
	}
	host, port, err := net.SplitHostPort(s.LocalAddr().String())
	if err != nil {
		return "ssh <host>"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		host = "localhost"
	}
	if port == "22" {
		return "ssh " + host
	}
	return "ssh -p " + port + " " + host
}

// touchKey records that the session's key was used (keys screen's "last
// used"); a key without an account, or a store that fails, changes nothing.
func (u *UI) touchKey(s ssh.Session) {
	id, ok := IdentityFrom(s.Context())
	if !ok {
		return
	}
	if a, err := u.cfg.Store.AccountByKey(id.Fingerprint); err == nil {
		u.keys.Used(s.Context(), a, id.Fingerprint)
	}
}

// program builds the Bubble Tea program for one session.
func (u *UI) program(s ssh.Session) *tea.Program {
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
		Store:    u.cfg.Store,
		Logger:   u.cfg.Logger,
		Now:      u.cfg.Now,
		Styles:   common.NewStyles(r),
		Keys:     common.NewKeyMap(),
		Identity: id,
		Goodbye:  func(line string) { s.Context().SetValue(goodbyeKey{}, line) },
	}
	pty, _, _ := s.Pty()
	e := &env{Common: c, billing: u.cfg.Billing, renderer: r, hyperlinks: pty.Term != "dumb",
		keys: u.keys, sshCommand: u.sshCommand(s), remote: s.RemoteAddr().String()}
	var model tea.Model = newModel(e)
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
	live := u.registry.add(p, loadAccount(e))
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
