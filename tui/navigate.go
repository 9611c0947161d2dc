package tui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// destination is a screen a screen may ask the root to show. Only the root
// builds screens (Model.open): the screen graph is that one switch.
type destination int

const (
	// toMain is the account's main screen: the plan picker until a plan is
	// chosen, the locked screen while locked, else the dashboard
	// (Model.route).
	toMain destination = iota
	toRegister
	toAddCard    // plan: the plan Checkout buys; none for a card alone
	toConfirmPay // the payment the bank holds (Account.ActionURL)
	toPlans      // the plan list to change plan; plan: the one to start on
	toChangePlan // plan: the plan to preview and confirm
	toCancel
	toPortal
	toInvoices
	toKeys
	toEmail
)

// navigateMsg asks the root to show another screen, for account as the
// asking screen last read it.
type navigateMsg struct {
	to      destination
	account store.Account
	plan    billing.Plan
	// held: keys wait for it (navigate).
	held bool
}

// back asks the root to leave a sub-screen for the account's main screen;
// keys typed meanwhile wait for it, as for any navigation.
func (e *env) back() tea.Cmd { return e.navigate(navigateMsg{to: toMain}) }

// navigate asks the root to show n. Keys typed before it shows wait for it,
// as they wait for a busy screen, so they reach the screen they were typed
// at.
func (e *env) navigate(n navigateMsg) tea.Cmd {
	e.navigating++
	n.held = true
	return func() tea.Msg { return n }
}

// open shows the screen n asks for. A fresher read of the account that
// landed while n was on its way reaches the new screen as it would have had
// the screen been in view (SetAccount), so it may leave at once.
func (m *Model) open(n navigateMsg) (screen, tea.Cmd) {
	s, cmd := m.build(n)
	as, ok := s.(accountScreen)
	if !ok || n.to == toMain || m.account.ID != n.account.ID || m.account.Version <= n.account.Version {
		return s, cmd
	}
	more, keep := as.SetAccount(m.account, m.notices)
	if !keep {
		return m.route()
	}
	return s, tea.Batch(cmd, more)
}

// build builds the screen n asks for: the screen graph in one switch.
func (m *Model) build(n navigateMsg) (screen, tea.Cmd) {
	a := n.account
	switch n.to {
	case toRegister:
		s := newRegisterScreen(m.e)
		return s, s.input.Focus()
	case toAddCard:
		s := newAddCardScreen(m.e, a, n.plan.ID)
		return s, s.Init()
	case toConfirmPay:
		return newConfirmPayScreen(m.e, a), nil
	case toPlans:
		p := newPlanPicker(m.e, a, pickChange)
		for i, pl := range p.plans {
			if n.plan.ID != "" && pl.ID == n.plan.ID {
				p.cursor = i
			}
		}
		return p, nil
	case toChangePlan:
		s := newChangePlanScreen(m.e, a, n.plan)
		return s, s.Init()
	case toCancel:
		return newCancelScreen(m.e, a), nil
	case toPortal:
		s := newPortalScreen(m.e, a)
		return s, s.Init()
	case toInvoices:
		s := newInvoicesScreen(m.e, a)
		return s, s.Init()
	case toKeys:
		return newKeysScreen(m.e, a), nil
	case toEmail:
		return newEmailScreen(m.e, a), nil
	}
	return m.route()
}
