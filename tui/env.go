package tui

import (
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/accounts"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// env is what the customer screens of one session share: the common
// session state, the billing service, and what the terminal can show.
type env struct {
	*common.Common
	// accounts is the store as the screens see it.
	accounts Accounts
	billing  Billing
	// keys runs key changes (link codes, removal); sshCommand is how a
	// customer reaches the portal ("ssh -p 2222 host"); remote is the
	// client's address (link attempts are limited per address).
	keys       *accounts.Service
	sshCommand string
	remote     string
	// renderer is the session's lipgloss renderer: its colour profile and
	// background decide how a QR code and the progress bar are drawn.
	renderer *lipgloss.Renderer
	// hyperlinks is false for TERM=dumb, which would print OSC 8 as text.
	hyperlinks bool
	// navigating counts navigations asked for and not yet shown: keys
	// typed meanwhile wait, as for a busy screen.
	navigating int
	// ticks numbers tick chains so a replaced screen's chain dies.
	ticks int
	// schedule, when set, replaces tea.Tick: golden tests record ticks
	// instead of waiting for them.
	schedule func(d time.Duration, msg tea.Msg) tea.Cmd
}

// after delivers msg after d.
func (e *env) after(d time.Duration, msg tea.Msg) tea.Cmd {
	if e.schedule != nil {
		return e.schedule(d, msg)
	}
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

// now is the billing clock: the sandbox clock offline, so a moved clock
// moves every countdown on screen with it.
func (e *env) now() time.Time { return e.billing.Now() }

// contentWidth is the usable width inside the frame's padding.
func (e *env) contentWidth() int {
	if e.Width <= 0 {
		return 76
	}
	return max(e.Width-2*framePadX, 10)
}

// nextTick returns a new tick chain id; older chains stop at their next tick.
func (e *env) nextTick() int {
	e.ticks++
	return e.ticks
}

// actionTimeout bounds a customer's billing action once it is under way. It
// outlasts the Stripe client's own timeouts and retries.
const actionTimeout = 2 * time.Minute

// actionCtx is the context of a billing action the customer started: not
// the session's, so a connection dropped mid-write does not cancel a
// Stripe call whose outcome would then be unknown (the action completes
// and every open session of the account sees its result through the
// store), but bounded by actionTimeout, as the ops actions are.
func (e *env) actionCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(e.Ctx), actionTimeout)
}

// page starts a screen's view: its title, then a blank line.
func (e *env) page(title string) *strings.Builder {
	b := new(strings.Builder)
	b.WriteString(e.Styles.Title.Render(title) + "\n\n")
	return b
}

// billingFailed logs a failed billing call of a screen as a warning (op,
// the account, attrs, the error) and returns what the screen shows for it:
// billing's own words, the same on every screen.
func (e *env) billingFailed(op, accountID string, err error, attrs ...any) string {
	e.Logger.Warn(op, append(append([]any{"account", accountID}, attrs...), "err", err)...)
	return billing.Message(err)
}

// failed reports whether err ended a screen's billing call, and sets
// *shown, the error the screen shows, to billing's words for it (logged)
// or to none.
func (e *env) failed(shown *string, op, accountID string, err error, attrs ...any) bool {
	*shown = ""
	if err == nil {
		return false
	}
	*shown = e.billingFailed(op, accountID, err, attrs...)
	return true
}

// settled ends a screen's change to the account: a failure is the
// screen's to show, a success loads the account.
func (e *env) settled(shown *string, op, accountID string, a store.Account, err error, attrs ...any) tea.Cmd {
	if e.failed(shown, op, accountID, err, attrs...) {
		return nil
	}
	return func() tea.Msg { return accountLoadedMsg{Account: a} }
}
