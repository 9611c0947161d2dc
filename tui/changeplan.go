package tui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// changePlanScreen previews what moving to another plan costs (from
// Stripe's upcoming invoice) and asks for a confirmation.
type changePlanScreen struct {
	e       *env
	account store.Account
	plan    billing.Plan
	preview *billing.Preview
	busy    string
	err     string
	keys    struct{ Confirm, Back, Retry key.Binding }
}

type previewMsg struct {
	preview billing.Preview
	err     error
}

type planChangedMsg struct {
	account store.Account
	err     error
}

func newChangePlanScreen(e *env, a store.Account, plan billing.Plan) *changePlanScreen {
	c := &changePlanScreen{e: e, account: a, plan: plan, busy: "Asking Stripe for the price…"}
	c.keys.Confirm = key.NewBinding(key.WithKeys("enter", "y"), key.WithHelp("enter", "confirm"), key.WithDisabled())
	c.keys.Back = key.NewBinding(key.WithKeys("esc", "n"), key.WithHelp("esc", "back"))
	c.keys.Retry = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry"), key.WithDisabled())
	return c
}

// Init fetches the preview.
func (c *changePlanScreen) Init() tea.Cmd {
	e, id, plan := c.e, c.account.ID, c.plan.ID
	return func() tea.Msg {
		pv, err := e.billing.PreviewChange(e.Ctx, id, plan)
		return previewMsg{preview: pv, err: err}
	}
}

func (c *changePlanScreen) TakesText() bool { return false }

func (c *changePlanScreen) Bindings() []key.Binding {
	return []key.Binding{c.keys.Confirm, c.keys.Retry, c.keys.Back}
}

// SetAccount keeps the confirmation unless the account changed plan or
// state meanwhile (another session): the preview would be stale.
func (c *changePlanScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	if a.Plan != c.account.Plan || a.State != c.account.State {
		return nil, false
	}
	c.account = a
	return nil, true
}

func (c *changePlanScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case previewMsg:
		c.busy = ""
		if msg.err != nil {
			c.fail("preview change", msg.err)
			return c, nil
		}
		c.preview = &msg.preview
		c.keys.Confirm.SetEnabled(true)
	case planChangedMsg:
		c.busy = ""
		switch {
		case errors.Is(msg.err, billing.ErrCardRequired):
			s := newAddCardScreen(c.e, c.account, c.plan.ID)
			return s, s.Init()
		case msg.err != nil:
			c.fail("change plan", msg.err)
			c.keys.Confirm.SetEnabled(true)
			return c, nil
		}
		// Back to the dashboard even when the plan has not moved yet (an
		// upgrade waits for its payment).
		return c, tea.Sequence(func() tea.Msg { return accountLoadedMsg{Account: msg.account} }, back)
	case tea.KeyMsg:
		if c.busy != "" {
			return c, nil
		}
		switch {
		case key.Matches(msg, c.keys.Back):
			return c, back
		case key.Matches(msg, c.keys.Retry):
			c.busy, c.err = "Asking Stripe for the price…", ""
			c.keys.Retry.SetEnabled(false)
			return c, c.Init()
		case key.Matches(msg, c.keys.Confirm):
			c.busy, c.err = "Changing to "+c.plan.Name+"…", ""
			e, id, plan := c.e, c.account.ID, c.plan.ID
			return c, func() tea.Msg {
				ctx, cancel := e.actionCtx()
				defer cancel()
				a, err := e.billing.ChangePlan(ctx, id, plan)
				return planChangedMsg{account: a, err: err}
			}
		}
	}
	return c, nil
}

func (c *changePlanScreen) fail(op string, err error) {
	c.e.Logger.Warn(op, "account", c.account.ID, "plan", c.plan.ID, "err", err)
	c.err = billing.Message(err)
	c.keys.Retry.SetEnabled(c.preview == nil)
}

// summary says in words what confirming does, from the preview.
func (c *changePlanScreen) summary() []string {
	a, pv, plan := c.account, c.preview, c.plan
	cur := planLine(c.e.billing.Catalog(), a.Plan)
	live := liveSubscription(a)
	price := billing.FormatAmount(pv.NextAmount, pv.Currency) + "/month"
	term := "plan"
	if a.State == store.StateTrial {
		term = "trial"
	}
	from := ""
	if !pv.NextAt.IsZero() {
		from = " from " + formatDay(pv.NextAt)
	}
	switch {
	case plan.Free() && a.State == store.StateActive:
		return []string{"You keep " + cur + " until " + formatDate(a.CurrentPeriodEnd) + ".",
			"Then your account moves to Free. You can undo this until then."}
	case plan.Free():
		return []string{"Your " + cur + " " + term + " ends now and your account moves to Free.", "Nothing is charged."}
	case !live && trialAvailable(a):
		return []string{fmt.Sprintf("Starts a %d-day trial of %s, no card needed.", c.e.billing.TrialDays(), plan.Name),
			"Then " + price + from + " once you add a card."}
	case !live:
		return []string{"Due now: " + billing.FormatAmount(pv.AmountDue, pv.Currency) + ", then " + price + ".",
			"Your trial is used, so the next step asks for a card."}
	case a.State == store.StateTrial:
		return []string{"Due now: nothing, you are in your trial.", "Then " + price + from + "."}
	case pv.Upgrade:
		return []string{"Due now: " + billing.FormatAmount(pv.AmountDue, pv.Currency) + " for the rest of this period.",
			"Then " + price + from + ". The change applies once the payment clears."}
	}
	return []string{"Due now: nothing. " + plan.Name + " applies at once.", "Then " + price + from + "."}
}

func (c *changePlanScreen) View() string {
	s := c.e.Styles
	w := c.e.contentWidth()
	var b strings.Builder
	b.WriteString(s.Title.Render("Change plan"))
	b.WriteString("\n\n")
	cur, _ := c.e.billing.Catalog().Plan(c.account.Plan)
	b.WriteString(s.Label.Render("From"))
	b.WriteString(planLine(c.e.billing.Catalog(), cur.ID))
	b.WriteString("\n")
	b.WriteString(s.Label.Render("To"))
	b.WriteString(s.Selected.Render("› " + planLine(c.e.billing.Catalog(), c.plan.ID)))
	b.WriteString("\n\n")
	if c.preview != nil {
		for _, line := range c.summary() {
			b.WriteString(wrap(line, w))
			b.WriteString("\n")
		}
		if c.busy == "" {
			b.WriteString("\n")
			b.WriteString(s.Focused.Render("Press enter to confirm, esc to go back."))
			b.WriteString("\n")
		}
	}
	switch {
	case c.busy != "":
		b.WriteString("\n" + s.Subtle.Render(c.busy))
	case c.err != "" && c.preview == nil:
		b.WriteString(s.Error.Render(wrapHanging("✗ "+c.err, w, 2)) + "\n" + s.Subtle.Render("Press r to try again, esc to go back."))
	case c.err != "":
		b.WriteString("\n" + s.Error.Render(wrapHanging("✗ "+c.err, w, 2)))
	}
	return strings.TrimRight(b.String(), "\n")
}
