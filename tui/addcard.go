package tui

import (
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// addCardScreen hands card entry to a Stripe Checkout page: it shows the
// page's address (text, OSC 8 link, QR code), then waits. When the webhook
// lands, the store's change reaches the session and SetAccount turns the
// screen into the result by itself. An expired link offers a fresh one.
type addCardScreen struct {
	e     *env
	start store.Account // the account when the screen opened
	now   store.Account
	plan  string // a paid plan to start by Checkout (trial used), or ""
	link  *billing.Link
	linkView
	clock time.Time // billing clock, refreshed with the spinner
	frame int       // spinner frame
	spin  int       // spinner tick chain
	busy  bool
	err   string
	done  bool
	// paid is the invoice Checkout paid for the plan (plan mode), once read.
	paid *billing.Invoice
	keys struct{ Fresh, QR, Back, Done key.Binding }
}

// paidMsg carries the invoice a plan bought by Checkout was paid with.
type paidMsg struct{ invoice *billing.Invoice }

type linkMsg struct {
	link billing.Link
	err  error
}

// spinnerFrames are plain ASCII, readable on TERM=dumb; four frames a
// second (one changed cell each) keep the bytes sent while waiting small.
var spinnerFrames = []string{"|", "/", "-", `\`}

const spinnerEvery = time.Second / 4

// spinMsg advances the spinner of the chain that scheduled it.
type spinMsg struct{ chain int }

func newAddCardScreen(e *env, a store.Account, plan string) *addCardScreen {
	now := e.now()
	c := &addCardScreen{e: e, start: a, now: a, plan: plan, clock: now, busy: true}
	c.keys.Fresh, c.keys.QR = e.Keys.NewLink, common.Disabled(e.Keys.QR)
	c.keys.Back, c.keys.Done = e.Keys.Back, e.Keys.Continue
	return c
}

// Init asks billing for a Checkout page.
func (c *addCardScreen) Init() tea.Cmd { return tea.Batch(c.fetch(), c.startSpinner()) }

// startSpinner starts a new spinner chain; an older one stops.
func (c *addCardScreen) startSpinner() tea.Cmd {
	c.spin = c.e.nextTick()
	return c.e.after(spinnerEvery, spinMsg{chain: c.spin})
}

func (c *addCardScreen) spinner() string {
	return c.e.Styles.Focused.Render(spinnerFrames[c.frame%len(spinnerFrames)])
}

func (c *addCardScreen) fetch() tea.Cmd {
	e, id, plan := c.e, c.start.ID, c.plan
	return func() tea.Msg {
		ctx, cancel := e.actionCtx()
		defer cancel()
		if plan != "" {
			// The page must sell the plan this screen names.
			l, err := e.billing.CheckoutLink(ctx, id, plan)
			return linkMsg{link: l, err: err}
		}
		l, err := e.billing.CardLink(ctx, id)
		return linkMsg{link: l, err: err}
	}
}

func (c *addCardScreen) TakesText() bool { return false }

func (c *addCardScreen) Bindings() []key.Binding {
	k := c.keys
	return []key.Binding{k.Done, k.QR, k.Fresh, k.Back}
}

// FullScreen is the link view's, until the card is saved.
func (c *addCardScreen) FullScreen() bool { return c.showQR && !c.done }

// SetAccount stays on this screen whatever happens, and turns it into the
// result once the card shows on the account (cardLanded).
func (c *addCardScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	c.now = a
	c.clock = c.e.now()
	switch {
	case c.done:
	case c.cardLanded():
		return c.finish(), true
	}
	if !c.done && c.expired() {
		c.keys.Fresh.SetEnabled(true)
		c.keys.QR.SetEnabled(false)
		c.showQR = false
	}
	return nil, true
}

// finish turns the screen into the result; for a plan bought by Checkout
// it also reads what was paid.
func (c *addCardScreen) finish() tea.Cmd {
	c.done, c.busy, c.err = true, false, ""
	k := &c.keys
	k.Done.SetEnabled(true)
	k.Fresh.SetEnabled(false)
	k.QR.SetEnabled(false)
	k.Back.SetEnabled(false)
	if c.plan == "" {
		return nil
	}
	e, id := c.e, c.start.ID
	return func() tea.Msg {
		invs, err := e.billing.Invoices(e.Ctx, id)
		if err != nil {
			e.Logger.Warn("invoices after checkout", "account", id, "err", err)
			return paidMsg{}
		}
		for _, inv := range invs { // newest first
			if inv.Status == "paid" && inv.Amount > 0 {
				return paidMsg{invoice: &inv}
			}
		}
		return paidMsg{}
	}
}

// cardLanded reports whether the account shows the outcome this screen
// waits for: a card where there was none or a different one (another
// payment method id: a card entered again is a new one even with the same
// brand and last four), a lock lifted, or the plan bought by Checkout.
func (c *addCardScreen) cardLanded() bool {
	s, a := c.start, c.now
	if c.plan != "" {
		// Buying a plan: the card lands before the subscription does.
		return a.Plan == c.plan && a.SubscriptionID != s.SubscriptionID
	}
	switch {
	case a.NewCardSince(s):
		return true
	case s.State.Locked() && !a.State.Locked():
		return true
	}
	return false
}

// expired reports whether the link shown can no longer be paid: past its
// expiry, or expired early at Stripe (a newer link of the account expired
// it; the webhook recorded that on the account).
func (c *addCardScreen) expired() bool {
	if c.link == nil {
		return false
	}
	if c.link.SessionID != "" && slices.Contains(c.now.ExpiredCheckouts, c.link.SessionID) {
		return true
	}
	return !c.link.ExpiresAt.IsZero() && !c.clock.Before(c.link.ExpiresAt)
}

func (c *addCardScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case linkMsg:
		c.busy = false
		if c.e.failed(&c.err, "card link", c.start.ID, msg.err) {
			c.keys.Fresh.SetEnabled(true)
			return nil
		}
		c.link = &msg.link
		c.linkView = newLinkView(c.e, msg.link.URL, &c.keys.QR)
		c.keys.Fresh.SetEnabled(false)
		return nil
	case paidMsg:
		c.paid = msg.invoice
		return nil
	case spinMsg:
		if c.done || msg.chain != c.spin {
			return nil
		}
		c.clock = c.e.now()
		if c.expired() {
			c.keys.Fresh.SetEnabled(true)
			c.keys.QR.SetEnabled(false)
			c.showQR = false
			return nil // the spinner stops; n restarts it
		}
		c.frame++
		return c.e.after(spinnerEvery, msg)
	case tea.KeyMsg:
		k := c.keys
		if key.Matches(msg, k.Done) {
			return c.e.back()
		}
		if cmd, took := c.linkKeys(c.e, msg, k.QR, k.Back); took {
			return cmd
		}
		if key.Matches(msg, k.Fresh) && !c.busy {
			c.busy, c.err, c.link = true, "", nil
			c.keys.Fresh.SetEnabled(false)
			c.keys.QR.SetEnabled(false)
			return tea.Batch(c.fetch(), c.startSpinner())
		}
	}
	return nil
}

func (c *addCardScreen) title() string {
	a := c.start
	switch {
	case c.plan != "":
		p, _ := c.e.billing.Catalog().Plan(c.plan)
		return "Start " + p.Name + " with a card"
	case a.State == store.StateLockedUnpaid || a.State == store.StatePastDue:
		return "Fix your card"
	case a.HasCard:
		return "Replace your card"
	}
	return "Add a card"
}

func (c *addCardScreen) intro() string {
	a, cat := c.start, c.e.billing.Catalog()
	switch {
	case c.plan != "":
		return "Your trial is used, so " + cat.Line(c.plan) + " starts with a card. Open this secure Stripe page to pay:"
	case a.State == store.StateLockedUnpaid || a.State == store.StatePastDue:
		return "Your last payment failed. Add a working card on this secure Stripe page; the open invoice is paid with it:"
	case a.State == store.StateLockedTrialEnded:
		return "Add a card on this secure Stripe page to unlock " + cat.Line(a.Plan) + ":"
	case a.State == store.StateTrial && !a.TrialEnd.IsZero():
		return "Add a card on this secure Stripe page. Nothing is charged before your trial ends on " +
			formatDate(a.TrialEnd) + ":"
	}
	return "Open this secure Stripe page to add your card:"
}

func (c *addCardScreen) View(width, _ int) string {
	s := c.e.Styles
	w := width
	if c.done {
		return c.resultView()
	}
	title := s.Title.Render(c.title())
	switch {
	case c.err != "":
		return linkFailed(s, title, c.err, w)
	case c.link == nil:
		return title + "\n\n" + c.spinner() + " Creating a secure Stripe page…"
	}
	head := []string{title, "", wrap(c.intro(), w), c.urlText(w)}
	var side []string
	if c.expired() {
		side = append(side, s.Warn.Render("This link has expired."), "Press n for a fresh one.")
	} else {
		side = append(side, c.spinner()+" Waiting for Stripe…",
			s.Subtle.Render("This screen changes by itself once your card is saved."))
		if !c.link.ExpiresAt.IsZero() {
			side = append(side, s.Subtle.Render("The link works until "+formatDate(c.link.ExpiresAt)+"."))
		}
	}
	view := c.linkView
	if c.expired() {
		view.qrOK = false // a dead link's code would only lead to an error page
	}
	return view.composeHinted(head, side)
}

func (c *addCardScreen) resultView() string {
	s := c.e.Styles
	a := c.now
	w := c.e.contentWidth()
	b := c.e.page(c.title())
	if c.plan != "" && a.Plan == c.plan && !a.State.Locked() {
		// Bought by Checkout: say the plan is on and what it cost.
		p, _ := c.e.billing.Catalog().Plan(c.plan)
		paid := billing.FormatAmount(p.Amount, p.Currency)
		if c.paid != nil {
			paid = billing.FormatAmount(c.paid.Amount, c.paid.Currency)
		}
		b.WriteString(s.OK.Render(wrapHanging("✓ "+p.Name+" is active. You paid "+paid+" for the first month.", w, 2)))
		b.WriteString("\n\n")
		next := "Card: " + CardText(a) + "."
		if a.ShowsNextInvoice() {
			next += " Next invoice: " + billing.FormatAmount(a.NextInvoiceAmount, a.Currency) + " on " + formatDay(a.NextInvoiceAt) + "."
		}
		b.WriteString(wrap(next, w))
		b.WriteString("\n\n")
		b.WriteString(s.Focused.Render("Press enter to go back to your account."))
		return b.String()
	}
	b.WriteString(s.OK.Render("✓ Card saved: " + CardText(a)))
	b.WriteString("\n\n")
	var next string
	switch {
	case a.State.Locked():
		next = "Stripe is still working on your account; it unlocks by itself."
	case a.State == store.StateTrial && !a.TrialEnd.IsZero():
		next = "Your " + c.e.billing.Catalog().Line(a.Plan) + " plan continues after the trial; the first charge is on " +
			formatDay(a.TrialEnd) + "."
	default:
		next = "You are on " + c.e.billing.Catalog().Line(a.Plan) + " (" + StateText(a) + ")."
	}
	b.WriteString(wrap(next, w))
	b.WriteString("\n\n")
	b.WriteString(s.Focused.Render("Press enter to go back to your account."))
	return b.String()
}
