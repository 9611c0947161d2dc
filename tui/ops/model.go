package ops

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/tui/common"
)

// Minimum terminal size for the ops view.
const (
	minWidth  = 80
	minHeight = 16
)

// screen is one view of the ops model, a common.Component (the contract the
// customer screens follow too): screens are pointers and change in place.
type screen = common.Component

// tab is one top-level screen.
type tab int

const (
	tabAccounts tab = iota
	tabSummary
	tabWebhooks
	tabClock
	tabAudit
	tabMail
)

var tabNames = map[tab]string{tabAccounts: "Accounts", tabSummary: "Summary", tabWebhooks: "Webhooks", tabClock: "Clock", tabAudit: "Audit", tabMail: "Mail"}

// tabShownMsg and tabHiddenMsg tell a screen it came into or left view, so
// screens that poll do it only while seen.
type (
	tabShownMsg  struct{}
	tabHiddenMsg struct{}
)

// model is the root of one admin session's ops view.
type model struct {
	o *Ops
	c *common.Common

	tabs    []tab
	tab     tab
	screens map[tab]screen
	detail  *detailScreen // open over the accounts tab, or nil
	dialog  *dialog
	running string // the prompt of the action in flight, "" when none

	status    string
	statusErr bool
	// statusTab is the tab the status is about: it shows only there (a
	// clock move's "Sandbox clock is now …" followed the admin everywhere).
	statusTab tab
	help      help.Model
	showHelp  bool
	// keyTabs is Common.Keys.Tabs with the digits of the tabs this
	// session has (no clock tab in live mode).
	keyTabs key.Binding
}

func newModel(o *Ops, c *common.Common) *model {
	h := common.NewHelp(c.Styles)
	m := &model{o: o, c: c, help: h, tabs: []tab{tabAccounts, tabSummary, tabWebhooks}}
	m.screens = map[tab]screen{
		tabAccounts: newAccountsScreen(o, c),
		tabSummary:  newSummaryScreen(o, c),
		tabWebhooks: newWebhooksScreen(o, c),
	}
	if o.cfg.Clock != nil {
		m.tabs = append(m.tabs, tabClock)
		m.screens[tabClock] = newClockScreen(o, c)
	}
	m.tabs = append(m.tabs, tabAudit, tabMail)
	m.screens[tabAudit] = newAuditScreen(o, c)
	m.screens[tabMail] = newMailScreen(o, c)
	m.keyTabs = common.TabsFor(c.Keys.Tabs, len(m.tabs))
	return m
}

// Init starts following the accounts index and checking the admin keys.
func (m *model) Init() tea.Cmd {
	gen, _ := m.o.idx.watch()
	return tea.Batch(m.o.waitChange(m.c.Ctx, gen), m.checkAdminLater())
}

// adminCheckEvery is how often an open session asks whether its key is
// still an admin's: removing a key from the file ends its open sessions.
const adminCheckEvery = 2 * time.Second

// adminCheckMsg asks the session to check its key against the admin keys.
type adminCheckMsg struct{}

func (m *model) checkAdminLater() tea.Cmd {
	if m.o.cfg.Admins == nil {
		return nil
	}
	return m.o.tick(adminCheckEvery, func(time.Time) tea.Msg { return adminCheckMsg{} })
}

// revoked ends the session with a line saying why.
func (m *model) revoked() tea.Cmd {
	m.o.log.Info("ops session closed: key no longer an admin's", "key", m.c.Identity.Fingerprint)
	m.c.SayGoodbye("Your key was removed from the admin keys file, so the ops view closed.")
	return tea.Quit
}

// tabForKey is the tab index each number key shows.
var tabForKey = map[string]int{"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5}

// current is the screen in view.
func (m *model) current() screen {
	if m.tab == tabAccounts && m.detail != nil {
		return m.detail
	}
	return m.screens[m.tab]
}

// TakesText reports whether printable keys go to a text field now (the
// search, a dialog's number), for the session's key splitting.
func (m *model) TakesText() bool {
	if m.dialog != nil {
		return m.dialog.stage == stageNumber
	}
	return m.current().TakesText()
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.help.Width = msg.Width - 4
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case adminCheckMsg:
		if !m.o.cfg.Admins.IsAdmin(m.c.Identity.Fingerprint) {
			return m, m.revoked()
		}
		return m, m.checkAdminLater()
	case indexChangedMsg:
		return m, tea.Batch(m.broadcast(msg), m.o.waitChange(m.c.Ctx, msg.gen))
	case openDetailMsg:
		m.detail = newDetailScreen(m.o, m.c, msg.id)
		return m, m.detail.load()
	case closeDetailMsg:
		m.detail = nil
		return m, nil
	case openDialogMsg:
		if m.running != "" {
			// One action at a time per session: the next one is decided
			// on the result of this one.
			m.status, m.statusErr, m.statusTab = "An action is still running; wait for its result.", true, m.tab
			return m, nil
		}
		m.dialog = msg.d
		return m, nil
	case runActionMsg:
		m.running = msg.act.prompt()
		m.status = ""
		actor, ctx := m.c.Identity.Fingerprint, m.c.Ctx
		return m, func() tea.Msg { return m.o.perform(ctx, actor, msg.act) }
	case actionDoneMsg:
		m.running = ""
		if msg.err != nil {
			m.status, m.statusErr, m.statusTab = "Failed: "+msg.err.Error(), true, m.tab
			if msg.err == errNotAdmin {
				return m, m.revoked()
			}
		} else {
			m.status, m.statusErr, m.statusTab = msg.status, false, m.tab
		}
		return m, m.broadcast(msg)
	case detailLoadedMsg:
		if m.detail != nil {
			return m, m.detail.Update(msg)
		}
		return m, nil
	}
	return m, m.broadcast(msg)
}

// broadcast gives msg to every screen (each ignores what is not its own).
func (m *model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, t := range m.tabs {
		cmds = append(cmds, m.screens[t].Update(msg))
	}
	if m.detail != nil {
		cmds = append(cmds, m.detail.Update(msg))
	}
	return tea.Batch(cmds...)
}

func (m *model) key(msg tea.KeyMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.dialog != nil {
		done, cmd := m.dialog.update(msg)
		if done {
			m.dialog = nil
		}
		return cmd
	}
	cur := m.current()
	if cur.TakesText() {
		return cur.Update(msg)
	}
	switch {
	case key.Matches(msg, m.c.Keys.Quit):
		return tea.Quit
	case key.Matches(msg, m.c.Keys.Help):
		m.showHelp = !m.showHelp
		return nil
	case key.Matches(msg, m.keyTabs):
		i := indexOf(m.tabs, m.tab)
		switch s := msg.String(); s {
		case "tab":
			i = (i + 1) % len(m.tabs)
		case "shift+tab":
			i = (i + len(m.tabs) - 1) % len(m.tabs)
		default:
			if tabForKey[s] >= len(m.tabs) {
				return nil
			}
			i = tabForKey[s]
		}
		return m.switchTo(m.tabs[i])
	}
	return cur.Update(msg)
}

func indexOf(tabs []tab, t tab) int {
	for i, x := range tabs {
		if x == t {
			return i
		}
	}
	return 0
}

func (m *model) switchTo(t tab) tea.Cmd {
	if t == m.tab {
		return nil
	}
	hide := m.screens[m.tab].Update(tabHiddenMsg{})
	m.tab = t
	return tea.Batch(hide, m.screens[t].Update(tabShownMsg{}))
}

func (m *model) View() string {
	st := m.c.Styles
	w, h := m.c.Width, m.c.Height
	if w == 0 {
		w, h = 100, 30
	}
	if w < minWidth || h < minHeight {
		return fmt.Sprintf("Terminal too small (%d×%d).\nThe ops view needs at least %d×%d.\n", w, h, minWidth, minHeight)
	}
	innerW, innerH := w-4, h-2 // the App style's padding

	head := m.tabBar(innerW)

	var foot []string
	if m.dialog != nil {
		foot = append(foot, m.dialog.view(st, innerW))
	}
	if m.running != "" {
		foot = append(foot, st.Subtle.Render("Working… "+m.running))
	}
	// The status wraps: an error's text is what the admin acts on.
	status := strings.Join(wrapLines(m.status, innerW), "\n")
	switch {
	case m.status == "" || m.statusTab != m.tab:
	case m.statusErr:
		foot = append(foot, st.Error.Render(status))
	default:
		foot = append(foot, st.OK.Render(status))
	}
	foot = append(foot, m.helpView())
	footer := strings.Join(foot, "\n")

	bodyH := max(innerH-2-lipgloss.Height(footer)-1, 1)
	body := m.current().View(innerW, bodyH)
	// Pad the body so the footer stays put as content grows and shrinks.
	if n := bodyH - lipgloss.Height(body); n > 0 {
		body += strings.Repeat("\n", n)
	}
	return st.App.Render(fitLines(head, innerW) + "\n\n" + body + "\n" + footer)
}

// tabBar is the title and the tabs, the one in view selected, then the
// admin's key fingerprint. Where that does not fit, the tabs lose their
// padding, so every tab stays in sight before the fingerprint is cut.
func (m *model) tabBar(width int) string {
	st := m.c.Styles
	bar := func(pad string) string {
		var b strings.Builder
		b.WriteString(st.Title.Render("Portal ops"))
		for i, t := range m.tabs {
			label := fmt.Sprintf("%d %s", i+1, tabNames[t])
			if t == m.tab {
				b.WriteString("  " + st.Selected.Render("["+label+"]"))
			} else {
				b.WriteString("  " + st.Subtle.Render(pad+label+pad))
			}
		}
		return b.String()
	}
	head := bar(" ")
	if lipgloss.Width(head) > width {
		head = bar("")
	}
	return head + "  " + st.Subtle.Render(m.c.Identity.Fingerprint)
}

// fitLines truncates every line of s to w cells.
func fitLines(s string, w int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if lipgloss.Width(l) > w {
			lines[i] = strings.TrimRight(fit(l, w), " ")
		}
	}
	return strings.Join(lines, "\n")
}

func (m *model) helpView() string {
	switch {
	case m.dialog != nil:
		return common.HelpView(append(m.dialog.bindings(&m.c.Keys), m.c.Keys.CtrlCQuit), m.help.Width, m.c.Styles)
	case m.current().TakesText():
		return common.HelpView(append(m.current().Bindings(), m.c.Keys.CtrlCQuit), m.help.Width, m.c.Styles)
	case m.showHelp:
		return m.help.FullHelpView([][]key.Binding{append(m.current().Bindings(), m.keyTabs, m.c.Keys.Help, m.c.Keys.Quit)})
	}
	return m.shortHelp(m.current().Bindings())
}

// shortHelp is the one-line help: as many of the screen's keys as fit, in
// order, and always the keys to the full help and to quit, so no key is
// out of reach on a narrow terminal (help.Model would cut those off first).
func (m *model) shortHelp(screen []key.Binding) string {
	return m.help.ShortHelpView(common.FitHelp(screen,
		[]key.Binding{m.keyTabs, m.c.Keys.Help, m.c.Keys.Quit}, []key.Binding{m.c.Keys.More, m.c.Keys.Quit}, m.help.Width))
}

// deniedModel is what a session gets when Model's own admin check fails: a
// refusal and nothing else.
type deniedModel struct{}

func (deniedModel) Init() tea.Cmd { return tea.Quit }

func (d deniedModel) Update(tea.Msg) (tea.Model, tea.Cmd) { return d, tea.Quit }

func (deniedModel) View() string { return "This key is not an admin key.\n" }
