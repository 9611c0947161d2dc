package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/portal/portal/store"
)

// confirmPayScreen shows the hosted invoice page of a payment the bank
// wants the customer to confirm (3-D Secure: invoice.payment_action_required)
// the way the add-card screen shows a Checkout page: the address as text and
// an OSC 8 link, and a QR code beside it or, with v, alone. It goes back by
// itself once the payment no longer waits (paid, or another card added).
type confirmPayScreen struct {
	e       *env
	account store.Account
	linkView
	qr   key.Binding
	back key.Binding
}

func newConfirmPayScreen(e *env, a store.Account) *confirmPayScreen {
	c := &confirmPayScreen{e: e, account: a, qr: e.Keys.QR, back: e.Keys.Back}
	c.linkView = newLinkView(e, a.ActionURL, &c.qr)
	return c
}

func (c *confirmPayScreen) TakesText() bool         { return false }
func (c *confirmPayScreen) Bindings() []key.Binding { return []key.Binding{c.qr, c.back} }

// SetAccount keeps the screen while the same payment waits for the customer.
func (c *confirmPayScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	if a.ActionURL == "" || a.ActionURL != c.account.ActionURL || a.State.Locked() {
		return nil, false
	}
	c.account = a
	return nil, true
}

func (c *confirmPayScreen) Update(msg tea.Msg) tea.Cmd {
	if msg, ok := msg.(tea.KeyMsg); ok {
		cmd, _ := c.linkKeys(c.e, msg, c.qr, c.back)
		return cmd
	}
	return nil
}

func (c *confirmPayScreen) View(width, _ int) string {
	s := c.e.Styles
	w := width
	head := []string{s.Title.Render("Confirm your payment"), "",
		wrap("Your bank asks you to confirm this payment. Open Stripe's page for the invoice:", w), c.urlText(w)}
	side := []string{"Confirm it there with your bank.",
		s.Subtle.Render("Your account shows the payment by itself once it goes through. Or add another card with c on your account.")}
	return c.composeHinted(head, side)
}
