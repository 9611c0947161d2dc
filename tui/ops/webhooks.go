package ops

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// How much of the logs the webhook screen reads, and how often it re-reads
// them while shown (events that touch no account do not move the change
// feed, so the screen polls; an unchanged frame costs no bandwidth).
const (
	webhookWindow = 500
	driftWindow   = 500
	webhookPoll   = 10 * time.Second
)

// reconcilerActor is the Actor of the billing reconciler's audit entries.
const reconcilerActor = "reconciler"

// webhooksScreen is the webhook log: counts and latency over the latest
// events, the events themselves (failed ones can be retried), and the drift
// the reconciler found and fixed.
type webhooksScreen struct {
	o *Ops
	c *common.Common

	loaded     bool
	err        error
	events     []store.Event
	drift      []store.AuditEntry
	onlyFailed bool
	pos        int
	// open shows the selected event's detail instead of the list.
	open bool
	poll poller
}

func newWebhooksScreen(o *Ops, c *common.Common) *webhooksScreen {
	return &webhooksScreen{o: o, c: c, poll: poller{every: webhookPoll}}
}

type webhooksLoadedMsg struct {
	events []store.Event
	drift  []store.AuditEntry
	err    error
}

func (w *webhooksScreen) load() tea.Cmd {
	db := w.o.cfg.Store
	return func() tea.Msg {
		var m webhooksLoadedMsg
		if m.events, m.err = db.Events(webhookWindow); m.err != nil {
			return m
		}
		all, err := db.Audit("", driftWindow)
		m.err = err
		for _, e := range all {
			if e.Actor == reconcilerActor {
				m.drift = append(m.drift, e)
			}
		}
		return m
	}
}

func (w *webhooksScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tabShownMsg:
		return tea.Batch(w.load(), w.poll.show(w.o))
	case tabHiddenMsg:
		w.poll.hide()
	case pollMsg:
		if w.poll.due(msg) {
			return tea.Batch(w.load(), w.poll.next(w.o))
		}
	case indexChangedMsg, actionDoneMsg:
		if w.poll.shown {
			return w.load()
		}
	case webhooksLoadedMsg:
		w.loaded, w.err = true, msg.err
		if msg.err == nil {
			w.events, w.drift = msg.events, msg.drift
		}
	case tea.KeyMsg:
		list := w.list()
		switch {
		case w.open && key.Matches(msg, w.c.Keys.EventClose):
			w.open = false
		case !w.open && key.Matches(msg, w.c.Keys.EventOpen) && w.pos < len(list):
			w.open = true
		case key.Matches(msg, w.c.Keys.ListUp):
			w.pos = max(w.pos-1, 0)
		case key.Matches(msg, w.c.Keys.ListDown):
			w.pos = min(w.pos+1, max(len(list)-1, 0))
		case key.Matches(msg, w.c.Keys.OnlyFailed):
			w.onlyFailed = !w.onlyFailed
			w.pos = 0
		case key.Matches(msg, w.c.Keys.RetryFailed):
			if w.pos < len(list) {
				if e := list[w.pos]; e.Status == store.EventStatusFailed && e.AccountID != "" {
					email := e.AccountID
					if r, ok := w.o.idx.get(e.AccountID); ok {
						email = r.email
					}
					return openDialog(confirmDialog(action{kind: actRetryEvent, accountID: e.AccountID, email: email, eventID: e.ID}))
				}
			}
		}
	}
	return nil
}

// list is the events as filtered on screen.
func (w *webhooksScreen) list() []store.Event {
	if !w.onlyFailed {
		return w.events
	}
	var out []store.Event
	for _, e := range w.events {
		if e.Status == store.EventStatusFailed {
			out = append(out, e)
		}
	}
	return out
}

func (w *webhooksScreen) TakesText() bool { return false }

// bindings offers the retry only while the selected event can be retried
// (a failed event of a known account), the one case r does anything.
func (w *webhooksScreen) Bindings() []key.Binding {
	retry := w.c.Keys.RetryFailed
	list := w.list()
	retry.SetEnabled(w.pos < len(list) && list[w.pos].Status == store.EventStatusFailed && list[w.pos].AccountID != "")
	if w.open {
		return []key.Binding{w.c.Keys.EventClose, w.c.Keys.ListUp, w.c.Keys.ListDown, retry}
	}
	return []key.Binding{w.c.Keys.ListUp, w.c.Keys.ListDown, retry, w.c.Keys.EventOpen, w.c.Keys.OnlyFailed}
}

// eventStats are the webhook log's counters over the loaded window.
type eventStats struct {
	received, processed, ignored, failed, duplicates int
	p50, p99, max                                    time.Duration
}

func statsOf(events []store.Event) eventStats {
	var s eventStats
	var lat []time.Duration
	for _, e := range events {
		s.received++
		s.duplicates += e.Duplicates
		switch e.Status {
		case store.EventStatusProcessed:
			s.processed++
		case store.EventStatusIgnored:
			s.ignored++
		case store.EventStatusFailed:
			s.failed++
		case store.EventStatusDuplicate:
			s.duplicates++
		}
		if e.Latency > 0 {
			lat = append(lat, e.Latency)
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		s.p50, s.p99, s.max = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	}
	return s
}

// percentile is the nearest-rank p-th percentile of sorted, non-empty d.
func percentile(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	return d[max(i-1, 0)]
}

func (w *webhooksScreen) View(width, height int) string {
	st := w.c.Styles
	switch {
	case !w.loaded:
		return st.Subtle.Render("Loading the webhook log…")
	case w.err != nil:
		return st.Error.Render("Could not read the webhook log: " + w.err.Error())
	}
	s := statsOf(w.events)
	var lines []string
	add := func(l string) { lines = append(lines, l) }
	add(st.Title.Render(fmt.Sprintf("Last %s events", fmtCount(s.received))) + fmt.Sprintf("  processed %s  ignored %s  failed %s  duplicates %s",
		fmtCount(s.processed), fmtCount(s.ignored), fmtCount(s.failed), fmtCount(s.duplicates)))
	add(fmt.Sprintf("Handler latency  p50 %s  p99 %s  max %s", fmtLatency(s.p50), fmtLatency(s.p99), fmtLatency(s.max)))
	if s.failed > 0 {
		add(st.Warn.Render(fmt.Sprintf("%d failed: select one and press r to re-sync its account from Stripe.", s.failed)))
	}

	// Drift takes at most a third of the screen, the events the rest.
	driftLines := min(len(w.drift), max(height/3-2, 1))
	if len(w.drift) == 0 {
		driftLines = 1
	}
	add("")
	list := w.list()
	if w.open && w.pos < len(list) {
		return strings.Join(append(lines, w.eventDetail(list[w.pos], width)...), "\n")
	}
	title := "Events, newest first"
	if w.onlyFailed {
		title = "Failed events, newest first"
	}
	add(st.Title.Render(title))
	// Narrow: no year, no "customer." on types, and the selected event's
	// error on a line of its own under the list (it would be cut off).
	compact := width < narrow
	room := max(height-len(lines)-driftLines-2, 1)
	if compact {
		room = max(room-1, 1)
	}
	if len(list) == 0 {
		add(st.Subtle.Render("  none"))
	}
	w.pos = min(w.pos, max(len(list)-1, 0))
	start := max(min(w.pos-room/2, len(list)-room), 0)
	for i := start; i < min(start+room, len(list)); i++ {
		e := list[i]
		who := e.AccountID
		if r, ok := w.o.idx.get(e.AccountID); ok {
			who = r.email
		}
		status := strings.ToUpper(string(e.Status))
		if e.Status != store.EventStatusFailed {
			status = string(e.Status)
		}
		stamp, typ := fmtStamp(e.ReceivedAt), fit(e.Type, 38)
		if compact {
			stamp, typ = fmtShortStamp(e.ReceivedAt), fit(shortType(e.Type), 27)
		}
		l := fmt.Sprintf("%s %s %s %s %s", stamp, typ, fit(status, 9), fitRight(fmtLatency(e.Latency), 6), orDash(who))
		if e.Duplicates > 0 {
			l += fmt.Sprintf(" +%d dup", e.Duplicates)
		}
		if e.Error != "" && !compact {
			l += "  " + e.Error
		}
		if i == w.pos {
			add(st.Selected.Render(fit("> "+l, width)))
		} else {
			add(fit("  "+l, width))
		}
	}
	if compact && len(list) > 0 && list[w.pos].Error != "" {
		// An ignored event's text is why it was ignored, not an error.
		if e := list[w.pos]; e.Status == store.EventStatusFailed {
			add(st.Error.Render(fit("  error: "+e.Error, width)))
		} else {
			add(st.Subtle.Render(fit("  "+string(e.Status)+": "+e.Error, width)))
		}
	}

	add("")
	add(st.Title.Render(fmt.Sprintf("Reconciler drift (%d fixed)", len(w.drift))))
	if len(w.drift) == 0 {
		add(st.Subtle.Render("  none: stored states matched Stripe"))
	}
	for _, e := range w.drift[:min(driftLines, len(w.drift))] {
		who := e.AccountID
		if r, ok := w.o.idx.get(e.AccountID); ok {
			who = r.email
		}
		at, whoW := fmtTime(e.At), 24
		if compact {
			at, whoW = e.At.UTC().Format("01-02 15:04"), 18
		}
		add(fit(fmt.Sprintf("  %s %s %s", at, fit(who, whoW), diffSummary(e.Before, e.After)), width))
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}

// diffSummary keeps only the key=value pairs of two summaries that differ,
// as "state=trial→active card=false→true".
func diffSummary(before, after string) string {
	bf, af := strings.Fields(before), strings.Fields(after)
	old := map[string]string{}
	for _, f := range bf {
		k, v, _ := strings.Cut(f, "=")
		old[k] = v
	}
	var parts []string
	for _, f := range af {
		k, v, _ := strings.Cut(f, "=")
		if o, ok := old[k]; !ok || o != v {
			parts = append(parts, fmt.Sprintf("%s=%s→%s", k, orDash(old[k]), v))
		}
	}
	if len(parts) == 0 {
		return "no visible change"
	}
	return strings.Join(parts, " ")
}

// eventDetail is one event in full: what it was, what came of it, and how
// to retry it. (The portal keeps each event's outcome, not its payload:
// the subscription is re-fetched from Stripe, the payload being a hint.)
func (w *webhooksScreen) eventDetail(e store.Event, width int) []string {
	st := w.c.Styles
	who := orDash(e.AccountID)
	if r, ok := w.o.idx.get(e.AccountID); ok {
		who = r.email + " (" + e.AccountID + ")"
	}
	out := []string{st.Title.Render("Event " + e.ID)}
	row := func(k, v string) { out = append(out, fit(fmt.Sprintf("  %-13s %s", k, v), width)) }
	row("Type", e.Type)
	row("Account", who)
	row("Created", fmtTime(e.Created)+" (Stripe's clock)")
	row("Received", fmtStamp(e.ReceivedAt)+" (wall clock)")
	row("Outcome", string(e.Status))
	row("Latency", fmtLatency(e.Latency))
	row("Redelivered", fmt.Sprintf("%d times after it was handled", e.Duplicates))
	if e.Error != "" {
		label := "Error"
		if e.Status != store.EventStatusFailed {
			label = "Reason"
		}
		for i, l := range wrapLines(e.Error, max(width-16, 20)) {
			if i == 0 {
				row(label, l)
			} else {
				row("", l)
			}
		}
	}
	switch {
	case e.Status == store.EventStatusFailed && e.AccountID != "":
		out = append(out, "", st.Warn.Render("  r re-syncs the account from Stripe, as a redelivery would."))
	case e.Status == store.EventStatusFailed:
		out = append(out, "", st.Subtle.Render("  No account is known for this event; Stripe's own retries will deliver it again."))
	}
	return out
}
