package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
)

// cancelScreen confirms a cancellation at the end of the period (or trial):
// the plan stays until then and the dashboard offers to undo it.
type cancelScreen struct {
	e       *env
	account store.Account
	busy    bool
	err     string
	keys    struct{ Confirm, Back key.Binding }
}

func newCancelScreen(e *env, a store.Account) *cancelScreen {
	c := &cancelScreen{e: e, account: a}
	c.keys.Confirm, c.keys.Back = e.Keys.ConfirmCancel, e.Keys.KeepPlan
	return c
}

func (c *cancelScreen) TakesText() bool { return false }

func (c *cancelScreen) Bindings() []key.Binding { return []key.Binding{c.keys.Confirm, c.keys.Back} }

// SetAccount leaves the confirmation once the account is no longer in a
// state it applies to (canceled elsewhere, locked, free).
func (c *cancelScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	if !a.CustomerCanCancel() {
		return nil, false
	}
	c.account = a
	return nil, true
}

func (c *cancelScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case actionDoneMsg:
		c.busy = false
		return c.e.settled(&c.err, "cancel at period end", c.account.ID, msg.account, msg.err)
	case tea.KeyMsg:
		if c.busy {
			return nil
		}
		switch {
		case key.Matches(msg, c.keys.Back):
			return c.e.back()
		case key.Matches(msg, c.keys.Confirm):
			c.busy, c.err = true, ""
			e, id := c.e, c.account.ID
			return func() tea.Msg {
				ctx, cancel := e.actionCtx()
				defer cancel()
				a, err := e.billing.CancelAtPeriodEnd(ctx, id)
				return actionDoneMsg{account: a, err: err}
			}
		}
	}
	return nil
}

func (c *cancelScreen) View(width, _ int) string {
	s := c.e.Styles
	a := c.account
	w := width
	plan := c.e.billing.Catalog().Name(a.Plan)
	end, what := a.CurrentPeriodEnd, "the current period"
	if a.State == store.StateTrial {
		end, what = a.TrialEnd, "your trial"
	}
	b := c.e.page("Cancel your plan")
	text := "You keep " + plan + " until the end of " + what
	if !end.IsZero() {
		text += ", " + formatDate(end)
	}
	text += ". Then your account moves to Free and nothing more is charged. You can undo this until then."
	b.WriteString(wrap(text, w))
	b.WriteString("\n\n")
	b.WriteString(s.Focused.Render("Cancel at the end of " + what + "? (y/n)"))
	switch {
	case c.busy:
		b.WriteString("\n\n" + s.Subtle.Render("Canceling with Stripe…"))
	case c.err != "":
		b.WriteString("\n\n" + s.Error.Render(wrapHanging("✗ "+c.err+" Press y to try again.", w, 2)))
	}
	return b.String()
}
