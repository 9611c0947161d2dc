package ops

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// How much history the detail screen reads per account.
const (
	detailEvents = 20
	detailAudit  = 20
)

// detailScreen is one account: its subscription snapshot, webhook events,
// notices with their mail status, audit entries, and the admin actions.
type detailScreen struct {
	o  *Ops
	c  *common.Common
	id string

	loaded  bool
	err     error
	acct    store.Account
	events  []store.Event
	notices []store.Notice
	audit   []store.AuditEntry

	scroll int
	keys   detailKeys
}

// detailKeys are the account's actions, each enabled only while it can do
// something for this account, so the help line offers nothing that fails
// or does nothing.
type detailKeys struct {
	Extend, Resync, Change, Free, Cancel, Resend, CancelSecond, RemoveKey key.Binding
}

func newDetailScreen(o *Ops, c *common.Common, id string) *detailScreen {
	d := &detailScreen{o: o, c: c, id: id}
	d.keys = detailKeys{Extend: d.c.Keys.ExtendTrial, Resync: d.c.Keys.Resync, Change: d.c.Keys.ReplacePlan, Free: d.c.Keys.MoveToFree, Cancel: d.c.Keys.CancelAtEnd, Resend: d.c.Keys.ResendNotice,
		CancelSecond: d.c.Keys.CancelSecond, RemoveKey: d.c.Keys.RemoveOneKey}
	d.setKeys()
	return d
}

// setKeys enables the actions that apply to the account as last read, as
// billing decides them: only a trial (running or paused) can be extended;
// cancelling needs a live subscription not already cancelling; moving to
// Free needs a plan other than Free that is not already on its way there.
func (d *detailScreen) setKeys() {
	a, k := d.acct, &d.keys
	ok := d.loaded && d.err == nil
	k.Extend.SetEnabled(ok && a.CanExtendTrial())
	k.Resync.SetEnabled(ok)
	k.Change.SetEnabled(ok)
	k.Free.SetEnabled(ok && a.CanMoveToFree())
	k.Cancel.SetEnabled(ok && a.CanCancel())
	k.Resend.SetEnabled(ok && len(d.notices) > 0)
	k.CancelSecond.SetEnabled(ok && a.SecondSubscriptionID != "")
	k.RemoveKey.SetEnabled(ok && len(a.Keys) > 1) // never the last (the store's rule)
}

// scheduledChange is a change scheduled for the period end, as the
// customer's dashboard says it ("M until 9 Jan, then S"), with its schedule.
func scheduledChange(cat billing.Catalog, a store.Account) string {
	return fmt.Sprintf("%s until %s, then %s (schedule %s; the customer can undo it)",
		cat.Name(a.Plan), a.ScheduledAt.UTC().Format("2 Jan"), cat.Name(a.ScheduledPlan), orDash(a.ScheduleID))
}

// detailLoadedMsg is one fresh read of everything the detail screen shows.
type detailLoadedMsg struct {
	id      string
	acct    store.Account
	events  []store.Event
	notices []store.Notice
	audit   []store.AuditEntry
	err     error
}

// closeDetailMsg returns to the accounts table.
type closeDetailMsg struct{}

// load reads the account and its history off the UI goroutine.
func (d *detailScreen) load() tea.Cmd {
	db, id := d.o.cfg.Store, d.id
	return func() tea.Msg {
		m := detailLoadedMsg{id: id}
		if m.acct, m.err = db.Account(id); m.err != nil {
			return m
		}
		if m.events, m.err = db.EventsForAccount(id, detailEvents); m.err != nil {
			return m
		}
		if m.notices, m.err = db.Notices(id); m.err != nil {
			return m
		}
		m.audit, m.err = db.Audit(id, detailAudit)
		return m
	}
}

// openDialogMsg asks the model to show a dialog.
type openDialogMsg struct{ d *dialog }

func openDialog(d *dialog) tea.Cmd { return func() tea.Msg { return openDialogMsg{d: d} } }

func (d *detailScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case detailLoadedMsg:
		if msg.id != d.id {
			return nil
		}
		d.loaded, d.err = true, msg.err
		if msg.err == nil {
			d.acct, d.events, d.notices, d.audit = msg.acct, msg.events, msg.notices, msg.audit
		}
		d.setKeys()
	case indexChangedMsg:
		// Re-read only when this account moved on; other accounts' writes
		// leave the screen as it is.
		if r, ok := d.o.idx.get(d.id); ok && r.version != d.acct.Version {
			return d.load()
		}
	case actionDoneMsg:
		if msg.act.accountID == d.id {
			return d.load()
		}
	case tea.KeyMsg:
		return d.updateKey(msg)
	}
	return nil
}

func (d *detailScreen) updateKey(msg tea.KeyMsg) tea.Cmd {
	a := action{accountID: d.id, email: d.acct.Email}
	switch {
	case key.Matches(msg, d.c.Keys.DetailBack):
		return func() tea.Msg { return closeDetailMsg{} }
	case key.Matches(msg, d.c.Keys.ScrollUp):
		d.scroll = max(d.scroll-scrollStep(msg), 0)
		return nil
	case key.Matches(msg, d.c.Keys.ScrollDown):
		d.scroll += scrollStep(msg)
		return nil
	}
	k := d.keys
	switch {
	case key.Matches(msg, k.Extend):
		a.kind = actExtendTrial
		dlg, cmd := numberDialog("Extend the trial by how many days?", a, 7, 1, 365,
			func(a action, n int) action { a.days = n; return a })
		return tea.Batch(openDialog(dlg), cmd)
	case key.Matches(msg, k.Resync):
		a.kind = actResync
		return openDialog(confirmDialog(a))
	case key.Matches(msg, k.Change):
		var opts []action
		var labels []string
		cur := 0
		paid := d.o.cfg.Catalog.Paid()
		idW, nameW := 0, 0
		for _, p := range paid {
			idW, nameW = max(idW, len(p.ID)), max(nameW, lipgloss.Width(p.Name))
		}
		for _, p := range paid {
			o := a
			o.kind, o.plan = actChangePlan, p.ID
			if p.ID == d.acct.Plan {
				cur = len(opts)
			}
			opts = append(opts, o)
			labels = append(labels, fmt.Sprintf("%s %s %s/month", fit(p.ID, idW+1), fit(p.Name, nameW),
				billing.FormatAmount(p.Amount, p.Currency)))
		}
		if len(opts) == 0 {
			return nil
		}
		return openDialog(pickDialog("Change to which plan?", opts, labels, cur))
	case key.Matches(msg, k.Free):
		a.kind, a.live = actMoveToFree, d.acct.HasLiveSubscription()
		if a.live && d.acct.SubscriptionStatus == "active" {
			a.freeAt = d.acct.CurrentPeriodEnd
		}
		return openDialog(confirmDialog(a))
	case key.Matches(msg, k.Cancel):
		a.kind = actCancel
		return openDialog(confirmDialog(a))
	case key.Matches(msg, k.CancelSecond):
		a.kind, a.second = actCancelSecond, d.acct.SecondSubscriptionID
		credit, none := a, a
		credit.credit = true
		return openDialog(pickDialog("Cancel the second subscription now:", []action{credit, none},
			[]string{"credit the unused time to the customer's balance", "credit nothing"}, 0))
	case key.Matches(msg, k.Resend):
		var opts []action
		var labels []string
		for _, n := range d.notices {
			o := a
			o.kind, o.notice = actResendNotice, n
			opts = append(opts, o)
			labels = append(labels, fmt.Sprintf("%s  %s %s", fmtTime(n.CreatedAt), fit(string(n.Kind), 16), mailWords(n)))
		}
		return openDialog(pickDialog("Re-send which notice?", opts, labels, 0))
	case key.Matches(msg, k.RemoveKey):
		var opts []action
		var labels []string
		for _, kk := range d.acct.Keys {
			o := a
			o.kind, o.key = actRemoveKey, kk.Fingerprint
			opts = append(opts, o)
			labels = append(labels, kk.Fingerprint+"  "+fit(kk.Label, 16))
		}
		return openDialog(pickDialog("Remove which key?", opts, labels, 0))
	}
	return nil
}

func scrollStep(msg tea.KeyMsg) int {
	switch msg.String() {
	case "pgup", "pgdown", " ":
		return 10
	}
	return 1
}

func (d *detailScreen) TakesText() bool { return false }

func (d *detailScreen) Bindings() []key.Binding {
	k := d.keys
	return []key.Binding{d.c.Keys.DetailBack, d.c.Keys.ScrollUp, k.Extend, k.Resync, k.Change, k.Free, k.Cancel, k.CancelSecond, k.Resend, k.RemoveKey}
}

func (d *detailScreen) View(width, height int) string {
	st := d.c.Styles
	switch {
	case !d.loaded:
		return st.Subtle.Render("Loading " + d.id + "…")
	case d.err != nil:
		return st.Error.Render("Could not read " + d.id + ": " + d.err.Error())
	}
	a := d.acct
	now := d.o.cfg.Now()
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	field := func(label, value string) string { return fit(label, 14) + value }
	// Narrow: one field a line (the screen scrolls), no "customer." on
	// event types, and errors on a line of their own.
	compact := width < narrow
	pair := func(l1, v1, l2, v2 string) {
		if compact {
			add(field(l1, v1))
			add(field(l2, v2))
			return
		}
		add(fit(field(l1, v1), 44) + "  " + field(l2, v2))
	}

	// Clocks: Created, Updated, a key's added and the audit are the store's
	// wall clock (when it happened here); Trial end, Period end and Next
	// invoice are the billing clock (Stripe's, the sandbox's offline), as
	// is now, which "in 2d" compares them with. Last sync and notices are
	// stamped by billing with its clock.
	add(st.Title.Render(a.Email) + "  " + st.Subtle.Render(a.ID))
	planName := orDash(a.Plan)
	if p, ok := d.o.cfg.Catalog.Plan(a.Plan); ok && !p.Free() {
		planName = fmt.Sprintf("%s (%s/month)", p.ID, billing.FormatAmount(p.Amount, p.Currency))
	}
	pair("Plan", planName, "State", stateLabel(a.State, a.HasCard, a.PaymentPending))
	if a.ScheduledPlan != "" {
		add(fit(field("Scheduled", scheduledChange(d.o.cfg.Catalog, a)), width))
	}
	trial := fmtTime(a.TrialEnd)
	if in := fmtIn(now, a.TrialEnd); in != "" {
		trial += " (" + in + ")"
	}
	pair("Trial end", trial, "Trial used", yesNo(a.TrialUsed))
	card := "none"
	if a.HasCard {
		card = strings.TrimSpace(a.CardBrand + " " + a.CardLast4)
	}
	pair("Card", card, "Created", fmtTime(a.CreatedAt))
	pair("Customer", orDash(a.CustomerID), "Subscription", orDash(a.SubscriptionID))
	pair("Stripe status", orDash(a.SubscriptionStatus), "Cancel at end", yesNo(a.CancelAtPeriodEnd))
	if a.SecondSubscriptionID != "" {
		add(st.Error.Render(fit(field("! Second sub", a.SecondSubscriptionID+" ("+orDash(a.SecondSubscriptionPlan)+
			"), live at Stripe beside the account's own: d cancels it"), width)))
	}
	if a.DisputeID != "" {
		add(st.Error.Render(fit(field("! Dispute", a.DisputeID+": a charge of this customer is disputed; answer it in Stripe"), width)))
	}
	if a.DeletedCustomerID != "" && a.CustomerID == "" {
		add(st.Error.Render(fit(field("! Customer", a.DeletedCustomerID+" was deleted at Stripe: unlinked, account kept"), width)))
	}
	if a.ActionURL != "" {
		add(field("Awaiting 3DS", a.ActionInvoiceID+" "+a.ActionURL))
	}
	if a.AmountDue > 0 {
		add(field("Amount due", billing.FormatAmount(a.AmountDue, a.Currency)+" (open invoice)"))
	}
	pair("Period end", fmtTime(a.CurrentPeriodEnd), "Next invoice", nextInvoice(a))
	pair("Last sync", fmtTime(a.LastSyncAt), "Updated", fmt.Sprintf("%s (v%d)", fmtTime(a.UpdatedAt), a.Version))
	for _, k := range a.Keys {
		used := "never used"
		if !k.LastUsedAt.IsZero() {
			used = "used " + fmtTime(k.LastUsedAt)
		}
		info := strings.TrimPrefix(k.Type(), "ssh-") + "  added " + fmtDate(k.AddedAt) + "  " + used
		if k.Label != "" {
			info += "  " + k.Label
		}
		if compact {
			add(field("Key", k.Fingerprint))
			add(field("", info))
			continue
		}
		add(field("Key", k.Fingerprint+"  "+info))
	}
	// Say which clock each time is on: with the sandbox the two differ.
	legend := "Times are UTC."
	if d.o.cfg.Clock != nil {
		legend = "Times are UTC. Trial end, period end and next invoice are on the sandbox clock (now " + strings.ReplaceAll(fmtTime(now), " ", nbsp) +
			"); created, updated, last sync and keys on the wall clock."
	}
	for _, l := range wrapLines(legend, width) {
		add(st.Subtle.Render(l))
	}

	add("")
	add(st.Title.Render(fmt.Sprintf("Webhook events (%d)", len(d.events))))
	if len(d.events) == 0 {
		add(st.Subtle.Render("  none"))
	}
	for _, e := range d.events {
		stamp, typ := fmtStamp(e.ReceivedAt), fit(e.Type, 40)
		if compact {
			stamp, typ = fmtShortStamp(e.ReceivedAt), fit(shortType(e.Type), 30)
		}
		l := fmt.Sprintf("  %s  %s %s %s", stamp, typ, fit(string(e.Status), 9), fitRight(fmtLatency(e.Latency), 7))
		if e.Duplicates > 0 {
			l += fmt.Sprintf("  +%d dup", e.Duplicates)
		}
		if e.Error != "" && !compact {
			l += "  " + e.Error
		}
		add(l)
		if e.Error != "" && compact {
			label := "error: "
			if e.Status != store.EventStatusFailed {
				label = string(e.Status) + ": "
			}
			for _, w := range wrapLines(label+e.Error, width-4) {
				add("    " + w)
			}
		}
	}

	add("")
	add(st.Title.Render(fmt.Sprintf("Notices (%d)", len(d.notices))))
	if len(d.notices) == 0 {
		add(st.Subtle.Render("  none"))
	}
	for _, n := range d.notices {
		l := fmt.Sprintf("  %s  %s %s", fmtTime(n.CreatedAt), fit(string(n.Kind), 16), mailWords(n))
		if n.MailedAt.IsZero() && n.MailError != "" {
			l += ": " + n.MailError
		}
		add(l)
	}

	add("")
	add(st.Title.Render(fmt.Sprintf("Audit (%d)", len(d.audit))))
	if len(d.audit) == 0 {
		add(st.Subtle.Render("  none"))
	}
	for _, e := range d.audit {
		add(fmt.Sprintf("  %s  %s  %s", fmtTime(e.At), e.Actor, e.Action))
		// Only what changed, before → after, wrapped: whole snapshots cut
		// at the edge hid the field that changed.
		for _, w := range wrapLines(diffSummary(e.Before, e.After), width-4) {
			add("    " + w)
		}
	}

	for i, l := range lines {
		lines[i] = fit(l, width)
	}
	d.scroll = min(d.scroll, max(len(lines)-height, 0))
	end := min(d.scroll+height, len(lines))
	return strings.Join(lines[d.scroll:end], "\n")
}

func nextInvoice(a store.Account) string {
	if a.NextInvoiceAt.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s %s", fmtTime(a.NextInvoiceAt), billing.FormatAmount(a.NextInvoiceAmount, a.Currency))
}
