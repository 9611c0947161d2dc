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

// mailPoll is how often the mail tab re-reads its page while shown: the
// mailer's tries change no account, so the change feed does not report them.
const mailPoll = 10 * time.Second

// mailScreen is the mail outbox and its history: every notice's mail,
// newest first, queued, retrying, failed or sent (store.Notice.MailStatus),
// a page at a time from the store's MailPage cursor. A failed or sent mail
// can be sent again (confirmed and audited, as from the account detail):
// store.Requeue puts it back in the outbox, due at once.
type mailScreen struct {
	o *Ops
	c *common.Common

	loaded bool
	err    error
	page   auditPage // where the page starts; the audit tab's cursors
	mails  []store.Notice
	next   string // cursor of the older page; "" on the last page
	// outbox counts the unmailed notices by status (the whole outbox, not
	// only this page).
	outbox map[store.MailStatus]int
	pos    int
	poll   poller
}

func newMailScreen(o *Ops, c *common.Common) *mailScreen {
	return &mailScreen{o: o, c: c, poll: poller{every: mailPoll}}
}

type mailLoadedMsg struct {
	page   auditPage
	mails  []store.Notice
	next   string
	outbox map[store.MailStatus]int
	err    error
}

// pageSize is how many mails fit: one line each, under the title and
// outbox lines and above the selected mail's two lines of detail.
func (m *mailScreen) pageSize() int {
	if m.c.Height == 0 {
		return 10
	}
	return max(m.c.Height-14, 1)
}

// load reads the page that starts at p and, with counts, the outbox for its
// counts. The outbox is what the mailer reads on every pass, small while
// mail flows; without SMTP it holds every notice, so it is counted when the
// tab is shown, on its poll and after an action, not on every change of an
// account (the page alone is re-read then).
func (m *mailScreen) load(p auditPage, counts bool) tea.Cmd {
	db, size := m.o.cfg.Store, m.pageSize()
	return func() tea.Msg {
		msg := mailLoadedMsg{page: p}
		if msg.mails, msg.next, msg.err = db.MailPage(p.before, size); msg.err != nil || !counts {
			return msg
		}
		box, err := db.Outbox()
		msg.err = err
		msg.outbox = map[store.MailStatus]int{}
		for _, n := range box {
			msg.outbox[n.MailStatus()]++
		}
		return msg
	}
}

// selected is the mail under the cursor.
func (m *mailScreen) selected() (store.Notice, bool) {
	if m.pos < len(m.mails) {
		return m.mails[m.pos], true
	}
	return store.Notice{}, false
}

// resendable: a mail the mailer is done with, sent or given up on. A
// queued or retrying one is still on its way.
func resendable(n store.Notice) bool {
	s := n.MailStatus()
	return s == store.MailFailed || s == store.MailSent
}

func (m *mailScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tabShownMsg:
		return tea.Batch(m.load(m.page, true), m.poll.show(m.o))
	case tabHiddenMsg:
		m.poll.hide()
	case pollMsg:
		if m.poll.due(msg) {
			return tea.Batch(m.load(m.page, true), m.poll.next(m.o))
		}
	case actionDoneMsg:
		if m.poll.shown {
			return m.load(m.page, true)
		}
	case indexChangedMsg:
		if m.poll.shown {
			return m.load(m.page, false)
		}
	case mailLoadedMsg:
		m.loaded, m.err = true, msg.err
		if msg.err != nil {
			return nil
		}
		if len(msg.mails) == 0 && msg.page.before != "" {
			// Pruned under this page: start again at the newest.
			return m.load(auditPage{}, msg.outbox != nil)
		}
		if msg.outbox != nil {
			m.outbox = msg.outbox
		}
		if msg.page.before != m.page.before {
			m.pos = 0
		}
		m.page, m.mails, m.next = msg.page, msg.mails, msg.next
		m.pos = min(m.pos, max(len(m.mails)-1, 0))
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, m.c.Keys.ListUp):
			m.pos = max(m.pos-1, 0)
		case key.Matches(msg, m.c.Keys.ListDown):
			m.pos = min(m.pos+1, max(len(m.mails)-1, 0))
		case key.Matches(msg, m.c.Keys.MailOlder) && m.next != "":
			cur := m.page
			return m.load(auditPage{before: m.next, from: cur.from + len(m.mails),
				newer: append(slices.Clip(cur.newer), auditPage{before: cur.before, from: cur.from})}, false)
		case key.Matches(msg, m.c.Keys.MailNewer) && len(m.page.newer) > 0:
			n := len(m.page.newer) - 1
			p := m.page.newer[n]
			p.newer = m.page.newer[:n]
			return m.load(p, false)
		case key.Matches(msg, m.c.Keys.Newest):
			return m.load(auditPage{}, false)
		case key.Matches(msg, m.c.Keys.ResendMail):
			if n, ok := m.selected(); ok && resendable(n) {
				email := n.AccountID
				if r, ok := m.o.idx.get(n.AccountID); ok {
					email = r.email
				}
				return openDialog(confirmDialog(action{kind: actResendNotice, accountID: n.AccountID, email: email, notice: n}))
			}
		}
	}
	return nil
}

func (m *mailScreen) TakesText() bool { return false }

// Bindings offers re-send only on a mail that can be sent again, and only
// the pages that exist. The mail tab moves its cursor with j/k, so its
// pages turn with pgdn/pgup (and n/p) only: MailOlder and MailNewer, not
// the audit tab's Older and Newer.
func (m *mailScreen) Bindings() []key.Binding {
	k := &m.c.Keys
	resend, older, newer, first := k.ResendMail, k.MailOlder, k.MailNewer, k.Newest
	n, ok := m.selected()
	resend.SetEnabled(ok && resendable(n))
	older.SetEnabled(m.next != "")
	newer.SetEnabled(len(m.page.newer) > 0)
	first.SetEnabled(m.page.before != "")
	return []key.Binding{k.ListUp, k.ListDown, resend, older, newer, first}
}

// mailWords says where a notice's mail is, in words, with when.
func mailWords(n store.Notice) string {
	switch n.MailStatus() {
	case store.MailSent:
		return "sent " + fmtTime(n.MailedAt)
	case store.MailRetrying:
		return fmt.Sprintf("in outbox, %s, next try %s", triesWords(n.MailTries), fmtTime(n.MailNextAt))
	case store.MailFailed:
		return fmt.Sprintf("failed: given up after %s", triesWords(n.MailTries))
	}
	return "in outbox"
}

func triesWords(n int) string {
	if n == 1 {
		return "1 failed try"
	}
	return fmt.Sprintf("%d failed tries", n)
}

func (m *mailScreen) View(width, height int) string {
	st := m.c.Styles
	var lines []string
	add := func(l string) { lines = append(lines, l) }
	title := "Mail, newest first"
	if len(m.mails) > 0 {
		title += fmt.Sprintf(" · %d–%d", m.page.from+1, m.page.from+len(m.mails))
	}
	if m.next != "" {
		title += " (older: pgdn)"
	}
	add(st.Title.Render(title) + st.Subtle.Render("  times UTC, wall clock"))
	switch {
	case m.err != nil:
		add(st.Error.Render(fit("Could not read the mail: "+m.err.Error(), width)))
		return strings.Join(lines, "\n")
	case !m.loaded:
		add(st.Subtle.Render("Loading…"))
		return strings.Join(lines, "\n")
	}
	box := fmt.Sprintf("Outbox: %d queued, %d retrying, %d failed", m.outbox[store.MailQueued], m.outbox[store.MailRetrying], m.outbox[store.MailFailed])
	if m.outbox[store.MailFailed] > 0 {
		add(st.Warn.Render(fit(box+" (given up: r re-sends)", width)))
	} else {
		add(box)
	}
	add("")
	if len(m.mails) == 0 {
		add(st.Subtle.Render("No mail yet: notices (trial ending, payment failed, …) show here as they are queued."))
		return strings.Join(lines, "\n")
	}
	// Columns: status, kind, account, created, tries, then the time that
	// matters for the status (next try, or sent) and, wide, the last error.
	compact := width < narrow
	kindW, whoW, triesW, tries := 16, 26, 5, "Tries"
	if compact {
		kindW, whoW, triesW, tries = 14, 17, 3, "Try"
	}
	add(st.Subtle.Render(fit(fmt.Sprintf("  %s %s %s %s %s %s", fit("Status", 8), fit("Kind", kindW), fit("Account", whoW),
		fit("Created", 11), fitRight(tries, triesW), fit("Next try/sent", 16)), width)))
	for i, n := range m.mails {
		who := n.AccountID
		if r, ok := m.o.idx.get(n.AccountID); ok {
			who = r.email
		}
		when := ""
		switch n.MailStatus() {
		case store.MailSent:
			when = "sent " + n.MailedAt.UTC().Format("01-02 15:04")
		case store.MailRetrying:
			when = "next " + n.MailNextAt.UTC().Format("01-02 15:04")
		case store.MailFailed:
			when = "gave up"
		}
		status := string(n.MailStatus())
		if n.MailStatus() == store.MailFailed {
			status = strings.ToUpper(status)
		}
		l := fmt.Sprintf("%s %s %s %s %s %s", fit(status, 8), fit(string(n.Kind), kindW), fit(orDash(who), whoW),
			n.CreatedAt.UTC().Format("01-02 15:04"), fitRight(fmt.Sprint(n.MailTries), triesW), fit(orDash(when), 16))
		if n.MailError != "" && !compact {
			l += " " + n.MailError
		}
		if i == m.pos {
			add(st.Selected.Render(fit("> "+l, width)))
		} else {
			add(fit("  "+l, width))
		}
	}
	// The selected mail in full: its notice (the id the mailer's log
	// names), where it is, its last error.
	if n, ok := m.selected(); ok {
		add("")
		add(fit(fmt.Sprintf("  %s: %s", n.ID, mailWords(n)), width))
		if n.MailError != "" {
			add(st.Error.Render(fit("  last error: "+n.MailError, width)))
		}
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}
