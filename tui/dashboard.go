package tui

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/accounts"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// noticeFresh is how long a one-off notice (card added, plan changed)
// stays on the dashboard.
const noticeFresh = 24 * time.Hour

// dashboardKeys are the dashboard's actions; each is enabled only in the
// states where it applies, so the help line shows only what works.
type dashboardKeys struct {
	AddCard, Confirm, ChangePlan, Cancel, Undo, Manage, Invoices, Keys, Email, Dismiss key.Binding
}

// dashboard shows the account: plan, state in words, the trial countdown,
// card, next invoice, notices and the actions available in this state.
type dashboard struct {
	e       *env
	account store.Account
	notices []store.Notice
	now     time.Time
	tick    int // this screen's countdown chain
	keys    dashboardKeys
	busy    string // an action in flight, in words
	err     string
}

// tickMsg drives the countdown; chain tells which screen scheduled it.
type tickMsg struct{ chain int }

// actionDoneMsg reports a billing action started from the dashboard.
type actionDoneMsg struct {
	account store.Account
	err     error
}

func newDashboard(e *env, a store.Account, notices []store.Notice) *dashboard {
	d := &dashboard{e: e, notices: notices, now: e.now(), tick: e.nextTick()}
	d.keys = dashboardKeys{
		AddCard: e.Keys.AddCard, Confirm: e.Keys.ConfirmPay, ChangePlan: e.Keys.ChangePlan, Cancel: e.Keys.CancelPlan,
		Undo: e.Keys.Undo, Manage: e.Keys.Manage, Invoices: e.Keys.Invoices, Keys: e.Keys.Keys, Email: e.Keys.Email,
		Dismiss: e.Keys.Dismiss,
	}
	d.setAccount(a)
	return d
}

// Init starts the countdown.
func (d *dashboard) Init() tea.Cmd { return d.scheduleTick() }

// restartTick starts a new countdown chain from the current clock (the
// cadence may have changed with the account); the old chain stops.
func (d *dashboard) restartTick() tea.Cmd {
	d.tick = d.e.nextTick()
	return d.scheduleTick()
}

func (d *dashboard) TakesText() bool { return false }

// Busy reports an action in flight: keys typed meanwhile wait for it.
func (d *dashboard) Busy() bool { return d.busy != "" }

func (d *dashboard) SetAccount(a store.Account, notices []store.Notice) (tea.Cmd, bool) {
	if a.Plan == "" || a.State.Locked() {
		return nil, false
	}
	d.notices = notices
	d.setAccount(a)
	return d.restartTick(), true
}

func (d *dashboard) setAccount(a store.Account) {
	d.account = a
	d.now = d.e.now()
	k := &d.keys
	paid := a.Plan != billing.PlanFree
	// The help line's words are short so it fits 80 columns with every key;
	// the actions above say what each does.
	k.AddCard.SetEnabled(a.CanAddCard())
	k.ChangePlan.SetEnabled(a.CanChangePlan())
	if paid {
		k.ChangePlan.SetHelp("p", "plan")
	} else {
		k.ChangePlan.SetHelp("p", "upgrade")
	}
	k.Cancel.SetEnabled(a.CustomerCanCancel())
	k.Undo.SetEnabled(a.State == store.StateCanceling || a.ScheduledPlan != "")
	if a.State == store.StateCanceling {
		k.Undo.SetHelp("u", "undo cancel")
	} else {
		k.Undo.SetHelp("u", "undo change")
	}
	k.Confirm.SetEnabled(a.ActionURL != "")
	k.Manage.SetEnabled(a.CustomerID != "")
	k.Invoices.SetEnabled(a.CustomerID != "")
	k.Dismiss.SetEnabled(len(d.dismissable()) > 0)
}

// dismissable lists the notices behind the banners shown now.
func (d *dashboard) dismissable() []string {
	var ids []string
	for _, b := range bannerNotices(d.account, d.notices, d.now, d.e.billing.Catalog(), d.e.Identity.Fingerprint) {
		ids = append(ids, b.ids...)
	}
	return ids
}

// dismissedMsg reports banners dismissed (or the store's refusal).
type dismissedMsg struct{ err error }

// dismiss hides the banners shown now, in this session at once and, through
// the store, in every session of the account.
func (d *dashboard) dismiss() tea.Cmd {
	ids := d.dismissable()
	at := d.e.now()
	for i := range d.notices {
		if slices.Contains(ids, d.notices[i].ID) {
			d.notices[i].DismissedAt = at
		}
	}
	d.keys.Dismiss.SetEnabled(false)
	db, acct := d.e.accounts, d.account.ID
	return func() tea.Msg {
		for _, id := range ids {
			if err := db.DismissNotice(acct, id, at); err != nil {
				return dismissedMsg{err: err}
			}
		}
		return dismissedMsg{}
	}
}

func (d *dashboard) Bindings() []key.Binding {
	k := d.keys
	var out []key.Binding
	// Dismiss is offered on the banners themselves.
	for _, b := range []key.Binding{k.Confirm, k.AddCard, k.ChangePlan, k.Cancel, k.Undo, k.Invoices, k.Manage, k.Keys, k.Email} {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}

// remaining is the trial time left by the billing clock.
func (d *dashboard) remaining() time.Duration {
	if !trialing(d.account) || d.account.TrialEnd.IsZero() {
		return 0
	}
	return d.account.TrialEnd.Sub(d.now)
}

// scheduleTick arms the next countdown tick: each second in the trial's
// last hour, else each minute (the text then shows hours, so most minute
// ticks change nothing and the renderer sends nothing). Ticks are aligned
// to the countdown's own boundaries, the moments its rounded-up text
// changes, so the screen is never stale; for a trial ending on a whole
// minute these are the clock's minutes and seconds. Without a running trial
// there is nothing to count and no tick.
func (d *dashboard) scheduleTick() tea.Cmd {
	left := d.remaining()
	if left <= 0 {
		return nil
	}
	step := time.Minute
	if left <= time.Hour {
		step = time.Second
	}
	wait := left % step
	if wait == 0 {
		wait = step
	}
	return d.e.after(wait, tickMsg{chain: d.tick})
}

func (d *dashboard) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tickMsg:
		if msg.chain != d.tick {
			return nil
		}
		d.now = d.e.now()
		d.keys.Dismiss.SetEnabled(len(d.dismissable()) > 0) // a banner may have aged out
		return d.scheduleTick()
	case dismissedMsg:
		if msg.err != nil {
			d.e.Logger.Error("dismiss banners", "account", d.account.ID, "err", msg.err)
			d.err = "The banner could not be dismissed for good just now; it may show again."
		}
		return nil
	case actionDoneMsg:
		d.busy = ""
		if d.e.failed(&d.err, "dashboard action", d.account.ID, msg.err) {
			return nil
		}
		d.setAccount(msg.account)
		return d.restartTick()
	case tea.KeyMsg:
		if d.busy != "" {
			return nil
		}
		k := d.keys
		if to, ok := d.opens(msg); ok {
			return d.e.navigate(navigateMsg{to: to, account: d.account})
		}
		switch {
		case key.Matches(msg, k.Undo):
			e, id := d.e, d.account.ID
			undo, what := e.billing.UndoCancel, "Undoing the cancellation…"
			if d.account.State != store.StateCanceling {
				undo, what = e.billing.UndoDowngrade, "Undoing the plan change…"
			}
			d.busy, d.err = what, ""
			return func() tea.Msg {
				ctx, cancel := e.actionCtx()
				defer cancel()
				a, err := undo(ctx, id)
				return actionDoneMsg{account: a, err: err}
			}
		case key.Matches(msg, k.Dismiss):
			return d.dismiss()
		}
	}
	return nil
}

// opens is the screen a dashboard key opens, if it opens one.
func (d *dashboard) opens(msg tea.KeyMsg) (destination, bool) {
	k := d.keys
	for _, o := range []struct {
		key key.Binding
		to  destination
	}{
		{k.AddCard, toAddCard}, {k.Confirm, toConfirmPay}, {k.ChangePlan, toPlans}, {k.Cancel, toCancel},
		{k.Manage, toPortal}, {k.Invoices, toInvoices}, {k.Keys, toKeys}, {k.Email, toEmail},
	} {
		if key.Matches(msg, o.key) {
			return o.to, true
		}
	}
	return 0, false
}

func (d *dashboard) View(width, _ int) string {
	s := d.e.Styles
	a := d.account
	w := width
	b := d.e.page("Your account")
	if banners := bannerNotices(a, d.notices, d.now, d.e.billing.Catalog(), d.e.Identity.Fingerprint); len(banners) > 0 {
		for i, n := range banners {
			text := n.text
			if i == 0 && d.keys.Dismiss.Enabled() {
				text += " (d: dismiss)"
			}
			if n.good {
				b.WriteString(s.OK.Render(wrapHanging("✓ "+text, w, 2)))
			} else {
				b.WriteString(s.Banner.Render(wrapHanging("! "+text, w, 2)))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	row := func(label, value string) {
		b.WriteString(s.Label.Render(label))
		b.WriteString(s.Value.Render(wrapHanging(value, w, labelWidth)))
		b.WriteString("\n")
	}
	row("Email", a.Email)
	row("Plan", PlanText(d.e.billing.Catalog(), a))
	row("State", StateText(a))
	if left := d.remaining(); trialing(a) {
		if left > 0 {
			row("Trial", FormatLeft(left)+" left · ends "+formatDate(a.TrialEnd))
			bar := progress.New(progress.WithoutPercentage(), progress.WithWidth(min(w-labelWidth, 40)),
				progress.WithColorProfile(d.e.renderer.ColorProfile()), progress.WithSolidFill("#7571F9"))
			row("", bar.ViewAs(trialFraction(left, d.e.billing.TrialDays())))
		} else {
			row("Trial", "ended "+formatDate(a.TrialEnd)+" · waiting for Stripe")
		}
	}
	row("Card", CardText(a))
	switch {
	case a.State == store.StateCanceling && !a.CurrentPeriodEnd.IsZero():
		row("Ends", formatDate(a.CurrentPeriodEnd)+", then Free")
	case a.AmountDue > 0:
		row("Amount due", billing.FormatAmount(a.AmountDue, a.Currency))
	case a.ShowsNextInvoice():
		row("Next invoice", billing.FormatAmount(a.NextInvoiceAmount, a.Currency)+" on "+formatDay(a.NextInvoiceAt))
	}
	if acts := d.actions(); len(acts) > 0 {
		b.WriteString("\n")
		for _, act := range acts {
			b.WriteString(s.Focused.Render("  " + act[0] + "  "))
			b.WriteString(wrapHanging(act[1], w, 5))
			b.WriteString("\n")
		}
	}
	switch {
	case d.busy != "":
		b.WriteString("\n" + s.Subtle.Render(d.busy))
	case d.err != "":
		b.WriteString("\n" + s.Error.Render(wrapHanging("✗ "+d.err+" Press the key again to retry.", w, 2)))
	}
	return strings.TrimRight(b.String(), "\n")
}

// actions pairs each enabled key with a sentence saying what it does here.
func (d *dashboard) actions() [][2]string {
	a, k := d.account, d.keys
	plan := d.e.billing.Catalog().Name(a.Plan)
	period := "period"
	if a.State == store.StateTrial {
		period = "trial"
	}
	var out [][2]string
	add := func(b key.Binding, text string) {
		if b.Enabled() {
			out = append(out, [2]string{b.Help().Key, text})
		}
	}
	add(k.Confirm, "Confirm the payment your bank asks about (link and QR code)")
	switch {
	case a.State == store.StatePastDue && !a.HasCard:
		add(k.AddCard, "Add a card: the unpaid invoice is paid with it")
	case a.State == store.StatePastDue:
		add(k.AddCard, "Fix your card: the failed payment is tried again with it")
	case a.HasCard:
		add(k.AddCard, "Replace your card")
	default:
		add(k.AddCard, "Add a card to keep "+plan+" after the trial")
	}
	switch {
	case a.Plan == billing.PlanFree && TrialAvailable(a):
		add(k.ChangePlan, fmt.Sprintf("Upgrade: %d-day trial, no card needed", d.e.billing.TrialDays()))
	case a.Plan == billing.PlanFree:
		add(k.ChangePlan, "Upgrade (prices shown before you confirm)")
	default:
		add(k.ChangePlan, "Change plan (prices shown before you confirm)")
	}
	add(k.Cancel, "Cancel at the end of the "+period)
	if a.State == store.StateCanceling {
		add(k.Undo, "Undo the cancellation and keep "+plan)
	} else {
		add(k.Undo, "Undo the change to "+d.e.billing.Catalog().Name(a.ScheduledPlan)+" and keep "+plan)
	}
	add(k.Manage, "Manage billing: invoices, card, details on Stripe")
	return out
}

// labelWidth is the width of Styles.Label.
const labelWidth = 14

// PlanText is Catalog.Line, or with a change scheduled for the period end
// "M until 9 Jan, then S · $9.00/month".
func PlanText(cat billing.Catalog, a store.Account) string {
	if a.ScheduledPlan == "" || a.ScheduledAt.IsZero() {
		return cat.Line(a.Plan)
	}
	return cat.Name(a.Plan) + " until " + a.ScheduledAt.UTC().Format("2 Jan") + ", then " + cat.Line(a.ScheduledPlan)
}

// banner is one line of news above the account's rows.
type banner struct {
	text string
	good bool // news to welcome (a card added, a plan changed), not a warning
	// ids are the notices the banner stands for; dismissing hides them all.
	// None for a banner about the account's state (payment pending).
	ids []string
}

// bannerNotices returns the banners that state what is true now, newest
// first, at most two, one per kind (a second plan change makes the first
// one history). A notice of a past state (trial ending once a card is on
// file) no longer shows, nor one the customer dismissed; a card-added
// banner names the card on file now (replaced again in the same period, the
// notice named the one before), and a plan change shows only while that
// plan is kept (not through a cancellation). self is the session's key: the
// key it announces as added is not asked "Not you?".
func bannerNotices(a store.Account, notices []store.Notice, now time.Time, cat billing.Catalog, self string) []banner {
	var out []banner
	shown := map[store.NoticeKind]int{} // kind → index in out
	for _, n := range notices {
		if !n.DismissedAt.IsZero() {
			continue
		}
		if i, ok := shown[n.Kind]; ok {
			out[i].ids = append(out[i].ids, n.ID) // an older one of the same kind goes with it
			continue
		}
		b := banner{text: n.Message, ids: []string{n.ID}}
		var show bool
		switch n.Kind {
		case billing.NoticeTrialWillEnd:
			show = a.State == store.StateTrial && !a.HasCard
		case billing.NoticePaymentFailed:
			show = a.State == store.StatePastDue || a.State == store.StateLockedUnpaid
		case billing.NoticeTrialEnded:
			show = a.State == store.StateLockedTrialEnded
		case billing.NoticeCardAdded:
			show = a.HasCard && now.Sub(n.CreatedAt) < noticeFresh
			b.text, b.good = "Card added: "+billing.CardName(a.CardBrand, a.CardLast4)+".", true
		case billing.NoticePlanChanged:
			// Its key ends in ">plan": the plan it changed to.
			show = now.Sub(n.CreatedAt) < noticeFresh && strings.HasSuffix(n.Key, ">"+a.Plan) &&
				a.State != store.StateCanceling
			b.good = true
		case accounts.KindKeyAdded:
			show = now.Sub(n.CreatedAt) < noticeFresh
			// Its key is "fingerprint@time".
			if self != "" && strings.HasPrefix(n.Key, self+"@") {
				b.text, b.good = "This key was added to the account: it reaches it from now on.", true
			}
		default:
			show = now.Sub(n.CreatedAt) < noticeFresh
		}
		if show && b.text != "" && len(out) < 2 {
			shown[n.Kind] = len(out)
			out = append(out, b)
		}
	}
	if a.ActionURL != "" {
		// 3-D Secure: the payment waits for the customer, not the card.
		out = append([]banner{{text: "Your bank asks you to confirm a payment: press o for the link to confirm it, or add another card with c."}}, out...)
	}
	if a.SecondSubscriptionID != "" {
		// The account's own subscription is the one that counts; say so
		// before anything else, so the customer is never left guessing.
		out = append([]banner{{text: secondSubscriptionText(a, cat)}}, out...)
		if len(out) > 2 {
			out = out[:2]
		}
	}
	if a.PaymentPending && len(out) < 2 {
		out = append(out, banner{text: "A payment is pending; your previous plan stays until it clears."})
	}
	return out
}

// wrap word-wraps s to width w, breaking words longer than a line. A date
// ("Thu 31 Dec 20:14 UTC") is kept on one line: split, it read as two
// facts.
func wrap(s string, w int) string {
	const nbsp = "\u00a0"
	glued := dateRE.ReplaceAllStringFunc(s, func(d string) string { return strings.ReplaceAll(d, " ", nbsp) })
	if glued == s {
		return ansi.Wrap(s, w, "")
	}
	return strings.ReplaceAll(ansi.Wrap(glued, w, ""), nbsp, " ")
}

// dateRE matches the dates formatDate and formatDay write.
var dateRE = regexp.MustCompile(`\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)( \d{2}:\d{2} UTC)?`)

// wrapHanging wraps a value that starts indent columns in, indenting its
// continuation lines to line up under the first.
func wrapHanging(s string, w, indent int) string {
	if w-indent < 10 {
		return s
	}
	return strings.ReplaceAll(wrap(s, w-indent), "\n", "\n"+strings.Repeat(" ", indent))
}

// trialFraction is how full the trial bar is with left remaining. The store
// keeps only the trial's end, so an extended trial shows a full bar until it
// is within one trial length of its end.
func trialFraction(left time.Duration, trialDays int) float64 {
	return min(float64(left)/float64(time.Duration(trialDays)*24*time.Hour), 1)
}

// secondSubscriptionText tells the customer about a second live
// subscription Stripe has for the account (billing keeps the account on its
// own and flags the other for ops).
func secondSubscriptionText(a store.Account, cat billing.Catalog) string {
	other := "a second subscription"
	if a.SecondSubscriptionPlan != "" {
		other = "a second subscription (" + cat.Name(a.SecondSubscriptionPlan) + ")"
	}
	return "Stripe has " + other + " for this account. You stay on " + cat.Name(a.Plan) +
		"; our team has been told and will cancel the second one."
}
