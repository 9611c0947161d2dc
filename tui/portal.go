package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// portalScreen shows a link to Stripe's billing portal (invoices, card,
// billing details) the way the card screen shows Checkout. Changes made
// there reach the dashboard through the webhook, like any other.
type portalScreen struct {
	e       *env
	account store.Account
	link    *billing.Link
	linkView
	busy bool
	err  string
	keys struct{ Fresh, QR, Back key.Binding }
}

func newPortalScreen(e *env, a store.Account) *portalScreen {
	p := &portalScreen{e: e, account: a, busy: true}
	p.keys.Fresh, p.keys.QR, p.keys.Back = e.Keys.NewLink, common.Disabled(e.Keys.QR), e.Keys.Back
	return p
}

// Init asks billing for a portal session.
func (p *portalScreen) Init() tea.Cmd {
	e, id := p.e, p.account.ID
	return func() tea.Msg {
		ctx, cancel := e.actionCtx()
		defer cancel()
		l, err := e.billing.PortalLink(ctx, id)
		return linkMsg{link: l, err: err}
	}
}

func (p *portalScreen) TakesText() bool { return false }

func (p *portalScreen) Bindings() []key.Binding {
	return []key.Binding{p.keys.QR, p.keys.Fresh, p.keys.Back}
}

// SetAccount keeps the link on screen while the account changes under it.
func (p *portalScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	p.account = a
	return nil, true
}

func (p *portalScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case linkMsg:
		p.busy = false
		p.keys.Fresh.SetEnabled(true)
		if p.e.failed(&p.err, "portal link", p.account.ID, msg.err) {
			return nil
		}
		p.link = &msg.link
		p.linkView = newLinkView(p.e, msg.link.URL, &p.keys.QR)
	case tea.KeyMsg:
		k := p.keys
		if cmd, took := p.linkKeys(p.e, msg, k.QR, k.Back); took {
			return cmd
		}
		if key.Matches(msg, k.Fresh) && !p.busy {
			p.busy, p.err, p.link = true, "", nil
			p.keys.QR.SetEnabled(false)
			return p.Init()
		}
	}
	return nil
}

func (p *portalScreen) View(width, _ int) string {
	s := p.e.Styles
	w := width
	title := s.Title.Render("Manage billing")
	switch {
	case p.err != "":
		return linkFailed(s, title, p.err, w)
	case p.link == nil:
		return title + "\n\n" + s.Subtle.Render("Opening Stripe's billing portal…")
	}
	head := []string{title, "", wrap("Invoices, your card and billing details are on this secure Stripe page:", w),
		p.urlText(w)}
	side := []string{"Changes you make there show here by themselves.",
		s.Subtle.Render("The link is for you alone: do not share it.")}
	return p.composeHinted(head, side)
}
