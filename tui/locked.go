package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// lockedScreen is what a locked account sees instead of the dashboard: why
// it is locked and the ways out (add or fix a card, or the free plan at
// once). It leaves by itself when the account unlocks.
type lockedScreen struct {
	e       *env
	account store.Account
	notices []store.Notice
	choices []lockedChoice
	cursor  int
	busy    bool
	err     string
	// confirming is set while "Switch to Free now?" waits for y or n: a
	// switch to Free ends the paid plan at once, so it is confirmed like a
	// cancellation.
	confirming bool
	keys       struct{ Up, Down, Choose, Yes, No key.Binding }
}

type lockedChoice struct {
	key   key.Binding
	label string
	run   func(l *lockedScreen) tea.Cmd
}

func newLockedScreen(e *env, a store.Account, notices []store.Notice) *lockedScreen {
	l := &lockedScreen{e: e}
	l.keys.Up, l.keys.Down, l.keys.Choose = e.Keys.CycleUp, e.Keys.CycleDown, e.Keys.Choose
	l.keys.Yes, l.keys.No = e.Keys.SwitchFree, e.Keys.KeepChoosing
	l.setAccount(a, notices)
	return l
}

func (l *lockedScreen) setAccount(a store.Account, notices []store.Notice) {
	l.account, l.notices = a, notices
	cat := l.e.billing.Catalog()
	plan := cat.Line(a.Plan)
	card := lockedChoice{key: l.e.Keys.AddCard,
		label: "Add a card and unlock " + plan, run: (*lockedScreen).addCard}
	free := lockedChoice{key: l.e.Keys.FreePlan,
		label: "Switch to Free now", run: (*lockedScreen).confirmFree}
	// A paused or unpaid subscription is unlocked by a card (CanAddCard);
	// an ended one only by a plan bought anew.
	pick := lockedChoice{key: l.e.Keys.ChangePlan,
		label: "Choose a paid plan (with a card)", run: (*lockedScreen).pickPlan}
	l.choices = []lockedChoice{pick}
	if a.CanAddCard() {
		l.choices = []lockedChoice{card}
	}
	if a.State == store.StateLockedUnpaid {
		card.label = "Fix your card: the open invoice is paid with it"
		manage := lockedChoice{key: l.e.Keys.Manage,
			label: "Manage billing: invoices, card, details on Stripe", run: (*lockedScreen).manage}
		l.choices = []lockedChoice{card, manage}
	}
	l.choices = append(l.choices, free)
	l.cursor = min(l.cursor, len(l.choices)-1)
}

func (l *lockedScreen) TakesText() bool { return false }

func (l *lockedScreen) Bindings() []key.Binding {
	if l.confirming {
		return []key.Binding{l.keys.Yes, l.keys.No}
	}
	out := []key.Binding{l.keys.Up, l.keys.Choose}
	for _, c := range l.choices {
		out = append(out, c.key)
	}
	return out
}

// SetAccount keeps the screen while the account stays locked.
func (l *lockedScreen) SetAccount(a store.Account, notices []store.Notice) (tea.Cmd, bool) {
	if !a.State.Locked() {
		return nil, false
	}
	l.setAccount(a, notices)
	return nil, true
}

func (l *lockedScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case planChosenMsg:
		l.busy = false
		return l.e.settled(&l.err, "locked: choose free", l.account.ID, msg.account, msg.err)
	case tea.KeyMsg:
		if l.busy {
			return nil
		}
		if l.confirming {
			switch {
			case key.Matches(msg, l.keys.Yes):
				l.confirming = false
				return l.chooseFree()
			case key.Matches(msg, l.keys.No):
				l.confirming = false
			}
			return nil
		}
		switch {
		case key.Matches(msg, l.keys.Up):
			l.cursor = (l.cursor + len(l.choices) - 1) % len(l.choices)
		case key.Matches(msg, l.keys.Down):
			l.cursor = (l.cursor + 1) % len(l.choices)
		case key.Matches(msg, l.keys.Choose):
			return l.choices[l.cursor].run(l)
		}
		for i, c := range l.choices {
			if key.Matches(msg, c.key) {
				l.cursor = i
				return c.run(l)
			}
		}
	}
	return nil
}

func (l *lockedScreen) addCard() tea.Cmd {
	return l.e.navigate(navigateMsg{to: toAddCard, account: l.account})
}

func (l *lockedScreen) manage() tea.Cmd {
	return l.e.navigate(navigateMsg{to: toPortal, account: l.account})
}

func (l *lockedScreen) pickPlan() tea.Cmd {
	return l.e.navigate(navigateMsg{to: toPlans, account: l.account})
}

func (l *lockedScreen) confirmFree() tea.Cmd {
	l.confirming, l.err = true, ""
	return nil
}

func (l *lockedScreen) chooseFree() tea.Cmd {
	l.busy, l.err = true, ""
	e, id := l.e, l.account.ID
	free, _ := e.billing.Catalog().Plan(billing.PlanFree)
	return func() tea.Msg {
		ctx, cancel := e.actionCtx()
		defer cancel()
		a, err := e.billing.ChoosePlan(ctx, id, billing.PlanFree)
		return planChosenMsg{plan: free, account: a, err: err}
	}
}

func (l *lockedScreen) reason() string {
	a := l.account
	plan := l.e.billing.Catalog().Name(a.Plan)
	switch a.State {
	case store.StateLockedUnpaid:
		amount := ""
		if a.AmountDue > 0 {
			amount = " of " + billing.FormatAmount(a.AmountDue, a.Currency)
		}
		return fmt.Sprintf("Your invoice%s for the %s plan could not be paid, and Stripe has stopped retrying. "+
			"Your plan is locked until the card is fixed.", amount, plan)
	case store.StateLockedCanceled:
		return "Your " + plan + " subscription has ended. Choose how to go on."
	}
	ended := ""
	if !a.TrialEnd.IsZero() {
		ended = " on " + formatDate(a.TrialEnd)
	}
	return "Your " + plan + " trial ended" + ended + " without a card, so the plan is paused. " +
		"Add a card to unlock it, or switch to Free."
}

func (l *lockedScreen) View(width, _ int) string {
	s := l.e.Styles
	w := width
	b := l.e.page("Your account is locked")
	if l.confirming {
		// The question alone, so it shows on the smallest window.
		plan := l.e.billing.Catalog().Name(l.account.Plan)
		b.WriteString(wrap("Switching to Free ends "+plan+" now; you can choose a paid plan again later.", w))
		b.WriteString("\n\n" + s.Focused.Render("Switch to Free now? (y/n)"))
		return b.String()
	}
	b.WriteString(wrap(l.reason(), w))
	b.WriteString("\n\n")
	for i, c := range l.choices {
		marker, style := "  ", s.Value
		if i == l.cursor {
			marker, style = "› ", s.Selected
		}
		b.WriteString(style.Render(marker + c.key.Help().Key + "  " + wrapHanging(c.label, w, 5)))
		b.WriteString("\n")
	}
	switch {
	case l.busy:
		b.WriteString("\n" + s.Subtle.Render("Switching to Free…"))
	case l.err != "":
		b.WriteString("\n" + s.Error.Render(wrapHanging("✗ "+l.err+" Press enter to try again.", w, 2)))
	}
	return strings.TrimRight(b.String(), "\n")
}
