package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// changePlanScreen previews what moving to another plan costs (from
// Stripe's upcoming invoice) and asks for a confirmation. The preview is
// fetched again whenever the account changes or the clock moves (both reach
// SetAccount) and once a minute while it is open, and once more at the
// moment of confirming: a different amount then is shown and asked about
// again instead of charged.
type changePlanScreen struct {
	e       *env
	account store.Account
	plan    billing.Plan
	preview *billing.Preview
	busy    string
	err     string
	// changed says the amount moved between showing and confirming.
	changed bool
	tick    int // this screen's refresh chain
	keys    struct{ Confirm, Back, Retry key.Binding }
}

// previewRefresh is how often an open preview is fetched again.
const previewRefresh = time.Minute

type previewMsg struct {
	preview billing.Preview
	err     error
	// refresh marks a fetch made while a preview was on screen; changed, a
	// confirmation refused because the amount moved.
	refresh, changed bool
}

// previewTickMsg asks for a refresh; chain tells which screen scheduled it.
type previewTickMsg struct{ chain int }

type planChangedMsg struct {
	account store.Account
	err     error
}

func newChangePlanScreen(e *env, a store.Account, plan billing.Plan) *changePlanScreen {
	c := &changePlanScreen{e: e, account: a, plan: plan, busy: "Asking Stripe for the price…", tick: e.nextTick()}
	c.keys.Confirm, c.keys.Back, c.keys.Retry = e.Keys.ConfirmPlan, e.Keys.BackOrNo, e.Keys.Retry
	return c
}

// Init fetches the preview.
func (c *changePlanScreen) Init() tea.Cmd { return c.fetch(false) }

func (c *changePlanScreen) fetch(refresh bool) tea.Cmd {
	e, id, plan := c.e, c.account.ID, c.plan.ID
	return func() tea.Msg {
		pv, err := e.billing.PreviewChange(e.Ctx, id, plan)
		return previewMsg{preview: pv, err: err, refresh: refresh}
	}
}

// sameCharge reports whether two previews charge the same.
func sameCharge(a, b billing.Preview) bool {
	return a.AmountDue == b.AmountDue && a.NextAmount == b.NextAmount && a.Currency == b.Currency
}

func (c *changePlanScreen) TakesText() bool { return false }

func (c *changePlanScreen) Bindings() []key.Binding {
	return []key.Binding{c.keys.Confirm, c.keys.Retry, c.keys.Back}
}

// SetAccount keeps the confirmation unless the account changed plan or
// state meanwhile (another session); otherwise the preview is fetched
// again, as the account or the clock (a move also arrives here) changed.
func (c *changePlanScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	if a.Plan != c.account.Plan || a.State != c.account.State {
		return nil, false
	}
	c.account = a
	if c.busy != "" || c.preview == nil {
		return nil, true
	}
	return c.fetch(true), true
}

func (c *changePlanScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case previewTickMsg:
		if msg.chain != c.tick || c.busy != "" || c.preview == nil {
			return nil
		}
		return c.fetch(true)
	case previewMsg:
		if msg.refresh && c.busy != "" {
			return nil // a confirmation is under way; it checks the price itself
		}
		c.busy = ""
		if msg.err != nil {
			if msg.refresh && c.preview != nil {
				return c.nextTick() // keep what is shown; the next refresh tries again
			}
			c.fail("preview change", msg.err)
			return nil
		}
		if msg.changed || (msg.refresh && c.preview != nil && !sameCharge(*c.preview, msg.preview)) {
			c.changed = true
		}
		c.preview, c.err = &msg.preview, ""
		c.keys.Confirm.SetEnabled(true)
		return c.nextTick()
	case planChangedMsg:
		// busy stays set on success: the account's reload that follows
		// must not fetch a preview of a change already made.
		switch {
		case errors.Is(msg.err, billing.ErrCardRequired):
			return c.e.navigate(navigateMsg{to: toAddCard, account: c.account, plan: c.plan})
		case msg.err != nil:
			c.busy = ""
			c.fail("change plan", msg.err)
			c.keys.Confirm.SetEnabled(true)
			return nil
		}
		// Back to the dashboard even when the plan has not moved yet (an
		// upgrade waits for its payment).
		return tea.Sequence(func() tea.Msg { return accountLoadedMsg{Account: msg.account} }, c.e.back())
	case tea.KeyMsg:
		if c.busy != "" {
			return nil
		}
		switch {
		case key.Matches(msg, c.keys.Back):
			// Back to the plan list, on this plan, as the help line says.
			return c.e.navigate(navigateMsg{to: toPlans, account: c.account, plan: c.plan})
		case key.Matches(msg, c.keys.Retry):
			c.busy, c.err = "Asking Stripe for the price…", ""
			c.keys.Retry.SetEnabled(false)
			return c.Init()
		case key.Matches(msg, c.keys.Confirm) && c.preview != nil:
			c.busy, c.err = "Changing to "+c.plan.Name+"…", ""
			e, id, plan, shown := c.e, c.account.ID, c.plan.ID, *c.preview
			return func() tea.Msg {
				ctx, cancel := e.actionCtx()
				defer cancel()
				// The price at this moment, not when the screen opened:
				// time or the account may have moved it.
				pv, err := e.billing.PreviewChange(ctx, id, plan)
				if err != nil {
					return planChangedMsg{err: err}
				}
				if !sameCharge(pv, shown) {
					return previewMsg{preview: pv, changed: true}
				}
				a, err := e.billing.ChoosePlan(ctx, id, plan)
				return planChangedMsg{account: a, err: err}
			}
		}
	}
	return nil
}

// nextTick schedules the next refresh of this screen's preview.
func (c *changePlanScreen) nextTick() tea.Cmd {
	c.tick = c.e.nextTick()
	return c.e.after(previewRefresh, previewTickMsg{chain: c.tick})
}

func (c *changePlanScreen) fail(op string, err error) {
	c.err = c.e.billingFailed(op, c.account.ID, err, "plan", c.plan.ID)
	c.keys.Retry.SetEnabled(c.preview == nil)
}

// summary says in words what confirming does, from the preview.
func (c *changePlanScreen) summary() []string {
	a, pv, plan := c.account, c.preview, c.plan
	cur := c.e.billing.Catalog().Line(a.Plan)
	live := a.HasLiveSubscription()
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
	case !live && TrialAvailable(a):
		return []string{fmt.Sprintf("Starts a %d-day trial of %s, no card needed.", c.e.billing.TrialDays(), plan.Name),
			"Then " + price + from + " once you add a card."}
	case !live:
		return []string{"Due now: " + billing.FormatAmount(pv.AmountDue, pv.Currency) + ", then " + price + ".",
			"Your trial is used, so the next step asks for a card."}
	case a.State == store.StateTrial:
		return []string{"Due now: nothing, you are in your trial.", "Then " + price + from + "."}
	case pv.AtPeriodEnd:
		return []string{"Due now: nothing. You keep " + cur + " until " + formatDate(pv.NextAt) + ".",
			"Then " + plan.Name + " at " + price + ". You can undo this until then."}
	case pv.Upgrade:
		return []string{"Due now: " + billing.FormatAmount(pv.AmountDue, pv.Currency) + " for the rest of this period.",
			"Then " + price + from + ". The change applies once the payment clears."}
	}
	return []string{"Due now: nothing. " + plan.Name + " applies at once.", "Then " + price + from + "."}
}

func (c *changePlanScreen) View(width, _ int) string {
	s := c.e.Styles
	w := width
	b := c.e.page("Change plan")
	cur, _ := c.e.billing.Catalog().Plan(c.account.Plan)
	b.WriteString(s.Label.Render("From"))
	b.WriteString(c.e.billing.Catalog().Line(cur.ID))
	b.WriteString("\n")
	b.WriteString(s.Label.Render("To"))
	b.WriteString(s.Selected.Render("› " + c.e.billing.Catalog().Line(c.plan.ID)))
	b.WriteString("\n\n")
	if c.preview != nil {
		for _, line := range c.summary() {
			b.WriteString(wrap(line, w))
			b.WriteString("\n")
		}
		if c.busy == "" {
			b.WriteString("\n")
			if c.changed {
				b.WriteString(s.Warn.Render(wrap("The price changed since it was first shown; the amounts above are the ones now.", w)))
				b.WriteString("\n")
			}
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
