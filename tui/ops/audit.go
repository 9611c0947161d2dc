package ops

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// auditWide is the inner width from which an entry's change fits on its
// own line; narrower, it goes on a second line.
const auditWide = 130

// auditScreen is the global audit log, newest first: every admin action
// (the clock moves among them) and the reconciler's drift fixes, a page at
// a time. It reads the entries up to the page shown and one more (to know
// whether there is an older page), never the whole history.
//
// The store's Audit has a limit and no cursor, so a page read reads the
// newer entries before it too; a cursor would make each read one page.
type auditScreen struct {
	o *Ops
	c *common.Common

	loaded  bool
	err     error
	from    int // index of the first entry shown; 0 is the newest
	entries []store.AuditEntry
	more    bool // an older page exists
	shown   bool
}

func newAuditScreen(o *Ops, c *common.Common) *auditScreen { return &auditScreen{o: o, c: c} }

type auditLoadedMsg struct {
	from    int
	entries []store.AuditEntry
	more    bool
	err     error
}

// pageSize is how many entries fit the window: each takes one line, or two
// where the window is narrow (the change under the entry).
func (a *auditScreen) pageSize() int {
	room := a.c.Height - 10 // frame, tab bar, title, status and help lines
	if a.c.Height == 0 {
		room = 20
	}
	if a.c.Width-4 < auditWide {
		room /= 2
	}
	return max(room, 1)
}

func (a *auditScreen) load(from int) tea.Cmd {
	db, size := a.o.cfg.Store, a.pageSize()
	return func() tea.Msg {
		all, err := db.Audit("", from+size+1)
		if err != nil {
			return auditLoadedMsg{from: from, err: err}
		}
		from := min(from, len(all))
		to := min(from+size, len(all))
		return auditLoadedMsg{from: from, entries: all[from:to], more: len(all) > to}
	}
}

func (a *auditScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tabShownMsg:
		a.shown = true
		return a.load(a.from)
	case tabHiddenMsg:
		a.shown = false
	case indexChangedMsg, actionDoneMsg:
		if a.shown {
			return a.load(a.from)
		}
	case auditLoadedMsg:
		a.loaded, a.err = true, msg.err
		if msg.err != nil {
			return nil
		}
		if len(msg.entries) == 0 && msg.from > 0 {
			// The log was pruned under this page: start again at the newest.
			return a.load(0)
		}
		a.from, a.entries, a.more = msg.from, msg.entries, msg.more
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, a.c.Keys.Older) && a.more:
			return a.load(a.from + len(a.entries))
		case key.Matches(msg, a.c.Keys.Newer) && a.from > 0:
			return a.load(max(a.from-a.pageSize(), 0))
		case key.Matches(msg, a.c.Keys.Newest):
			return a.load(0)
		}
	}
	return nil
}

func (a *auditScreen) TakesText() bool { return false }

func (a *auditScreen) Bindings() []key.Binding {
	return []key.Binding{a.c.Keys.Older, a.c.Keys.Newer, a.c.Keys.Newest}
}

func (a *auditScreen) View(width, height int) string {
	st := a.c.Styles
	var lines []string
	title := "Audit log, newest first"
	if len(a.entries) > 0 {
		title += fmt.Sprintf(" · %d–%d", a.from+1, a.from+len(a.entries))
	}
	if a.more {
		title += " (older: pgdn)"
	}
	lines = append(lines, st.Title.Render(title), "")
	switch {
	case a.err != nil:
		lines = append(lines, st.Error.Render(fit("Could not read the audit log: "+a.err.Error(), width)))
	case !a.loaded:
		lines = append(lines, st.Subtle.Render("Loading…"))
	case len(a.entries) == 0:
		lines = append(lines, st.Subtle.Render("No entries yet: admin actions, clock moves and reconciler fixes show here."))
	}
	for _, e := range a.entries {
		who := e.AccountID
		if r, ok := a.o.idx.get(e.AccountID); ok {
			who = r.email
		}
		if who == "" {
			who = "-"
		}
		what := orDash(e.Before) + " → " + orDash(e.After)
		if strings.Contains(e.Before+e.After, "=") {
			// Summaries of key=value fields: the ones that changed.
			what = diffSummary(e.Before, e.After)
		}
		head := fmt.Sprintf("%s  %s %s %s", e.At.UTC().Format("01-02 15:04"),
			fit(actorName(e.Actor), 12), fit(e.Action, 20), fit(who, 18))
		if width >= auditWide {
			lines = append(lines, fit(head+" "+what, width))
			continue
		}
		// Narrow: the change goes under the entry, where it is not cut
		// first (it is what the admin reads the log for).
		lines = append(lines, fit(head, width), "    "+fit(what, width-4))
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}

// actorName shortens an admin key's fingerprint for a column; the
// reconciler and other named actors read as they are.
func actorName(actor string) string {
	if rest, ok := strings.CutPrefix(actor, "SHA256:"); ok {
		return "key " + rest[:min(len(rest), 8)]
	}
	return actor
}
