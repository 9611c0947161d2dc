package tui

import (
	"context"
	"log/slog"
	"net"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/accounts"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// Config is what the customer UI needs from the rest of the portal. The SSH
// layer (package sshserver) serves it to sessions.
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
	// Keys runs every change to an account's keys (link codes, add,
	// remove); nil: one over Store with default limits.
	Keys *accounts.Service
	// SSHCommand is how customers reach the portal, e.g. "ssh -p 2222
	// portal.example.com", for the link command the keys screen shows;
	// "" derives it from the address the session came in on.
	SSHCommand string
}

// UI is the customer's side of the portal: it builds a session's root model.
// It knows nothing of SSH middleware, idle timeouts, the session registry or
// the script commands: those are sshserver's.
type UI struct {
	cfg  Config
	keys *accounts.Service
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
	if cfg.Keys == nil {
		cfg.Keys = accounts.New(cfg.Store, accounts.Options{Logger: cfg.Logger})
	}
	return &UI{cfg: cfg, keys: cfg.Keys}
}

// Session is what the SSH layer knows of one session that the customer
// screens need.
type Session struct {
	Common *common.Common
	// Renderer is the session's lipgloss renderer (colour profile,
	// background) that Common.Styles was made with.
	Renderer *lipgloss.Renderer
	// Hyperlinks is false for TERM=dumb, which would print OSC 8 as text.
	Hyperlinks bool
	// Local is the address the session came in on (for the ssh command the
	// keys screen shows); Remote is the client's (link attempts are
	// limited per address).
	Local  net.Addr
	Remote string
}

// NewSession returns the customer's root model for one session and the
// function that re-reads its account: the session registry calls it after
// a commit to the account and hands its message to the program.
func (u *UI) NewSession(s Session) (tea.Model, func() tea.Msg) {
	e := &env{Common: s.Common, accounts: u.cfg.Store, billing: u.cfg.Billing, renderer: s.Renderer, hyperlinks: s.Hyperlinks,
		keys: u.keys, sshCommand: u.sshCommand(s.Local), remote: s.Remote}
	return newModel(e), loadAccount(e)
}

// Billing and Keys are the services the screens run on, for the SSH
// layer's script commands (sshserver/cmd): one billing and one limit on
// link attempts for a command and a screen alike.
func (u *UI) Billing() Billing        { return u.cfg.Billing }
func (u *UI) Keys() *accounts.Service { return u.keys }

// Now is the billing clock the screens read (Config.Now), for the SSH
// layer's common.Common of every session, customer or ops.
func (u *UI) Now() time.Time { return u.cfg.Now() }

// KeyUsed records that the key with this fingerprint opened a session (the
// keys screen's "last used"); a key without an account, or a store that
// fails, changes nothing.
func (u *UI) KeyUsed(ctx context.Context, fingerprint string) {
	if a, err := u.cfg.Store.AccountByKey(fingerprint); err == nil {
		u.keys.Used(ctx, a, fingerprint)
	}
}

// sshCommand is the command that reaches this portal, for instructions.
func (u *UI) sshCommand(local net.Addr) string {
	if u.cfg.SSHCommand != "" {
		return u.cfg.SSHCommand
	}
	host, port, err := net.SplitHostPort(local.String())
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

// DurationWords says a setting's length in words ("30 minutes"), as the
// screens do: for the SSH layer's idle goodbye.
func DurationWords(d time.Duration) string { return durationWords(d) }
