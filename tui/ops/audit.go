package ops

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// auditWide is the inner width from which an entry's change fits on its
// own line; narrower, it goes on a second line.
const auditWide = 130

// auditScreen is the global audit log, newest first: every admin action
// (the clock moves among them) and the reconciler's drift fixes, a page at
// a time. Each page is one read of the store's AuditPage from a cursor, so
// an old page costs what the first does, and entries written meanwhile do
// not shift the pages after the one shown.
type auditScreen struct {
	o *Ops
	c *common.Common

	loaded  bool
	err     error
	page    auditPage
	entries []store.AuditEntry
	next    string // cursor of the older page; "" on the last page
	shown   bool
}

// auditPage is where a page of the log starts: the cursor it was read from
// ("" for the newest), the number of its first entry (0 is the newest), and
// the same for every newer page, to go back to.
type auditPage struct {
	before string
	from   int
	newer  []auditPage
}

func newAuditScreen(o *Ops, c *common.Common) *auditScreen { return &auditScreen{o: o, c: c} }

type auditLoadedMsg struct {
	page    auditPage
	entries []store.AuditEntry
	next    string
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

func (a *auditScreen) load(p auditPage) tea.Cmd {
	db, size := a.o.cfg.Store, a.pageSize()
	return func() tea.Msg {
		es, next, err := db.AuditPage("", p.before, size)
		return auditLoadedMsg{page: p, entries: es, next: next, err: err}
	}
}

func (a *auditScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tabShownMsg:
		a.shown = true
		return a.load(a.page)
	case tabHiddenMsg:
		a.shown = false
	case indexChangedMsg, actionDoneMsg:
		if a.shown {
			return a.load(a.page)
		}
	case auditLoadedMsg:
		a.loaded, a.err = true, msg.err
		if msg.err != nil {
			return nil
		}
		if len(msg.entries) == 0 && msg.page.before != "" {
			// The log was pruned under this page: start again at the newest.
			return a.load(auditPage{})
		}
		a.page, a.entries, a.next = msg.page, msg.entries, msg.next
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, a.c.Keys.Older) && a.next != "":
			cur := a.page
			return a.load(auditPage{before: a.next, from: cur.from + len(a.entries), newer: append(slices.Clip(cur.newer), auditPage{before: cur.before, from: cur.from})})
		case key.Matches(msg, a.c.Keys.Newer) && len(a.page.newer) > 0:
			n := len(a.page.newer) - 1
			p := a.page.newer[n]
			p.newer = a.page.newer[:n]
			return a.load(p)
		case key.Matches(msg, a.c.Keys.Newest):
			return a.load(auditPage{})
		}
	}
	return nil
}

func (a *auditScreen) TakesText() bool { return false }

// Bindings offers only the pages that exist: no "older" on the last page,
// no "newer" on the first.
func (a *auditScreen) Bindings() []key.Binding {
	older, newer, first := a.c.Keys.Older, a.c.Keys.Newer, a.c.Keys.Newest
	older.SetEnabled(a.next != "")
	newer.SetEnabled(len(a.page.newer) > 0)
	first.SetEnabled(a.page.before != "")
	return []key.Binding{older, newer, first}
}

func (a *auditScreen) View(width, height int) string {
	st := a.c.Styles
	var lines []string
	title := "Audit log, newest first"
	if len(a.entries) > 0 {
		title += fmt.Sprintf(" · %d–%d", a.page.from+1, a.page.from+len(a.entries))
	}
	if a.next != "" {
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
		what := auditChange(e)
		// The action's name has a column; its arguments follow it there
		// when they fit, else they go after the change, so neither is cut
		// mid-word (a clock move's span, a resent notice's kind).
		actW := 20
		if width < auditWide {
			actW = max(width-4-(11+2+12+1+1+18), 20)
		}
		act, args := e.Action, ""
		if lipgloss.Width(act) > actW {
			act, args, _ = strings.Cut(e.Action, " ")
		}
		if args != "" {
			what += "  " + args
		}
		head := fmt.Sprintf("%s  %s %s %s", e.At.UTC().Format("01-02 15:04"),
			fit(actorName(e.Actor), 12), fit(act, actW), fit(who, 18))
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

// auditChange is what an entry changed: of key=value summaries only the
// fields that changed, before → after; else both summaries whole.
func auditChange(e store.AuditEntry) string {
	if strings.Contains(e.Before+e.After, "=") {
		return diffSummary(e.Before, e.After)
	}
	return orDash(e.Before) + " → " + orDash(e.After)
}

// actorName shortens an admin key's fingerprint for a column; the
// reconciler and other named actors read as they are.
func actorName(actor string) string {
	if rest, ok := strings.CutPrefix(actor, "SHA256:"); ok {
		return "key " + rest[:min(len(rest), 8)]
	}
	return actor
}
