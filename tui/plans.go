package tui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// pickMode says why the plan picker is open.
type pickMode int

const (
	// pickFirst: the account has no plan yet (just registered); there is no
	// way back, and Enter takes effect at once.
	pickFirst pickMode = iota
	// pickChange: from the dashboard or Locked; Enter goes to a confirmation
	// with the price, esc goes back.
	pickChange
)

// planPicker lists the catalog's plans with price, features and whether
// the trial applies. Arrows or tab move, 1-9 pick by position, typed
// letters pick by plan id (x for XL, xx for XXL), Enter confirms.
type planPicker struct {
	e       *env
	account store.Account
	mode    pickMode
	plans   []billing.Plan
	cursor  int
	typed   string // letters typed so far, matched against plan ids
	busy    bool
	err     string
	keys    pickerKeys
}

type pickerKeys struct {
	Up, Down, Pick, Choose, Back key.Binding
}

// planChosenMsg reports ChoosePlan's outcome on the first pick. from is the
// picker that asked: the answer may land after that picker has gone (a
// fresher read showed the plan first) and must not reach another one.
type planChosenMsg struct {
	from    *planPicker
	plan    billing.Plan
	account store.Account
	err     error
}

func newPlanPicker(e *env, a store.Account, mode pickMode) *planPicker {
	p := &planPicker{e: e, account: a, mode: mode, plans: e.billing.Catalog().Plans()}
	p.keys = pickerKeys{
		Up: e.Keys.CycleUp, Down: e.Keys.CycleDown, Pick: common.PickHelp(e.Keys.Pick, len(p.plans)),
		Choose: e.Keys.Choose, Back: common.Disabled(e.Keys.Back),
	}
	if mode == pickChange {
		p.keys.Back.SetEnabled(true)
	}
	// Start on the current plan, or on the first paid plan for a new account.
	for i, pl := range p.plans {
		if pl.ID == a.Plan || a.Plan == "" && i > 0 && p.cursor == 0 {
			p.cursor = i
		}
	}
	return p
}

func (p *planPicker) TakesText() bool { return false }

// Busy is true while a first choice is on its way to billing: keys wait.
func (p *planPicker) Busy() bool { return p.busy }

func (p *planPicker) Bindings() []key.Binding {
	k := p.keys
	return []key.Binding{k.Up, k.Pick, k.Choose, k.Back}
}

// SetAccount keeps the picker while its purpose holds: a first pick ends
// when the account has a plan (perhaps chosen in another session).
func (p *planPicker) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	if p.mode == pickFirst && a.Plan != "" || p.mode == pickChange && a.Plan == "" {
		return nil, false
	}
	p.account = a
	return nil, true
}

func (p *planPicker) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case planChosenMsg:
		if msg.from != p {
			return nil
		}
		p.busy = false
		if errors.Is(msg.err, billing.ErrCardRequired) {
			return p.e.navigate(navigateMsg{to: toAddCard, account: msg.account, plan: msg.plan})
		}
		// The picker stays busy until the account with its plan replaces
		// it, so keys typed on meet the dashboard, not the picker.
		p.busy = msg.err == nil && msg.account.Plan != ""
		return p.e.settled(&p.err, "choose plan", p.account.ID, msg.account, msg.err, "plan", msg.plan.ID)
	case tea.KeyMsg:
		if p.busy {
			return nil
		}
		k := p.keys
		switch {
		case key.Matches(msg, k.Up):
			p.move(-1)
		case key.Matches(msg, k.Down):
			p.move(1)
		case key.Matches(msg, k.Pick):
			if i := int(msg.Runes[0] - '1'); i < len(p.plans) {
				p.cursor, p.typed, p.err = i, "", ""
			}
		case key.Matches(msg, k.Back):
			return p.e.back()
		case key.Matches(msg, k.Choose):
			return p.choose()
		case msg.Type == tea.KeyRunes && len(msg.Runes) == 1:
			p.typeAhead(msg.Runes[0])
		}
	}
	return nil
}

func (p *planPicker) move(d int) {
	p.cursor = (p.cursor + d + len(p.plans)) % len(p.plans)
	p.typed, p.err = "", ""
}

// typeAhead moves to the first plan whose id starts with the letters typed
// so far; a letter that matches nothing starts a new search.
func (p *planPicker) typeAhead(r rune) {
	for _, prefix := range []string{p.typed + string(r), string(r)} {
		for i, pl := range p.plans {
			if strings.HasPrefix(pl.ID, strings.ToLower(prefix)) {
				p.cursor, p.typed, p.err = i, prefix, ""
				return
			}
		}
	}
	p.typed = ""
}

func (p *planPicker) choose() tea.Cmd {
	plan := p.plans[p.cursor]
	if p.mode == pickChange {
		if plan.ID == p.account.Plan && !p.account.State.Locked() {
			p.err = "You are on " + plan.Name + " already."
			return nil
		}
		return p.e.navigate(navigateMsg{to: toChangePlan, account: p.account, plan: plan})
	}
	p.busy, p.err = true, ""
	e, id := p.e, p.account.ID
	return func() tea.Msg {
		ctx, cancel := e.actionCtx()
		defer cancel()
		a, err := e.billing.ChoosePlan(ctx, id, plan.ID)
		return planChosenMsg{from: p, plan: plan, account: a, err: err}
	}
}

// offer says what choosing a plan involves for this account.
func (p *planPicker) offer(pl billing.Plan) string {
	switch {
	case pl.Free():
		return "free forever"
	case p.account.HasLiveSubscription():
		return ""
	case TrialAvailable(p.account):
		return fmt.Sprintf("%d-day trial, no card needed", p.e.billing.TrialDays())
	}
	return "card needed (trial used)"
}

func (p *planPicker) View(width, _ int) string {
	s := p.e.Styles
	w := width
	var b strings.Builder
	// A short window keeps every plan in view: the account lines and the
	// blank lines go first.
	compact := p.e.Height > 0 && p.e.contentHeight() < len(p.plans)+8
	gap := "\n\n"
	if compact {
		gap = "\n"
	}
	switch {
	case p.mode == pickFirst && !compact:
		b.WriteString(s.Title.Render("Your account is ready: choose a plan"))
		b.WriteString("\n")
		b.WriteString(s.Subtle.Render(ansi.Truncate(p.account.Email+" · no plan yet", w, "…")))
		b.WriteString("\n")
		b.WriteString(s.Subtle.Render(ansi.Truncate("Key "+p.e.Identity.Fingerprint, w, "…")))
	case p.mode == pickFirst:
		b.WriteString(s.Title.Render(ansi.Truncate("Your account is ready: choose a plan", w, "…")))
	default:
		b.WriteString(s.Title.Render("Change plan"))
	}
	b.WriteString(gap)
	// Name and price columns as wide as their widest cell, so the offer
	// column lines up whatever the catalog's prices are.
	nameW, priceW := 0, 0
	for _, pl := range p.plans {
		nameW = max(nameW, ansi.StringWidth(pl.Name))
		priceW = max(priceW, ansi.StringWidth(pickerPrice(pl)))
	}
	wide := w >= 64
	for i, pl := range p.plans {
		marker, style := "  ", s.Value
		if i == p.cursor {
			marker, style = "› ", s.Selected
		}
		line := fmt.Sprintf("%s%d  %-*s  %-*s", marker, i+1, nameW, pl.Name, priceW, pickerPrice(pl))
		if pl.ID == p.account.Plan && !p.account.State.Locked() {
			line += "  [current]"
		} else if o := p.offer(pl); wide && o != "" {
			line += "  " + o
		}
		b.WriteString(style.Render(strings.TrimRight(line, " ")))
		b.WriteString("\n")
	}
	pl := p.plans[p.cursor]
	if !compact {
		b.WriteString("\n")
	}
	// The outcome of Enter takes the place of the plan's details, so it
	// shows even on a short window.
	switch {
	case p.busy && pl.Free():
		b.WriteString(s.Subtle.Render("Switching to " + pl.Name + "…"))
	case p.busy:
		b.WriteString(s.Subtle.Render("Starting " + pl.Name + " with Stripe…"))
	case p.err != "":
		b.WriteString(s.Error.Render(wrapHanging("✗ "+p.err, w, 2)))
	default:
		detail := pl.Name + ": " + strings.Join(pl.Features, ", ") + "."
		if o := p.offer(pl); !wide && o != "" && pl.ID != p.account.Plan {
			detail += " " + strings.ToUpper(o[:1]) + o[1:] + "."
		}
		b.WriteString(wrap(detail, w))
	}
	return strings.TrimRight(b.String(), "\n")
}

// pickerPrice is a plan's price as the picker lists it: "$9.00/month", or
// "$0" for the free plan.
func pickerPrice(pl billing.Plan) string {
	switch {
	case !pl.Free():
		return billing.FormatAmount(pl.Amount, pl.Currency) + "/month"
	case pl.Currency != "usd":
		return billing.FormatAmount(0, pl.Currency)
	}
	return "$0"
}
