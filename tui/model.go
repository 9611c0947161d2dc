package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// Minimum usable terminal size; below it every screen is replaced by a
// message saying how much room is needed.
const (
	minWidth  = 40
	minHeight = 12
)

// The frame around every screen: padding (matching Styles.App) and the
// blank line plus help line under the screen.
const (
	framePadX   = 2
	framePadY   = 1
	frameFooter = 2
)

// screen is one full-window view, a common.Component (the contract the ops
// view's screens follow too). The root model routes messages to the current
// screen and draws the frame (help line, size checks) around it.
type screen = common.Component

// accountScreen is a screen that shows the session's account and can take
// a fresh read of it in place. SetAccount returns false when the screen no
// longer fits the account (say, it became locked): the root then picks the
// screen for the account afresh.
type accountScreen interface {
	screen
	SetAccount(a store.Account, notices []store.Notice) (tea.Cmd, bool)
}

// fullScreen is a screen that sometimes needs the whole window, without
// the frame's padding and help line (a QR code at 80×24).
type fullScreen interface {
	FullScreen() bool
	LeaveFullScreen()
	fullView() string // the view while FullScreen
}

// Model is the root Bubble Tea model of one SSH session.
type Model struct {
	e        *env
	screen   screen
	help     help.Model
	showHelp bool
	// storeErr is set while the store cannot be read; the session then shows
	// an error screen, never the register screen.
	storeErr error
	// account and notices are the last read of the session's account.
	account store.Account
	notices []store.Notice
	// early holds keys typed before the first screen (the account is still
	// being read): they are handed to it once it shows, not dropped.
	early []tea.KeyMsg
}

func newModel(e *env) *Model {
	h := common.NewHelp(e.Styles)
	return &Model{e: e, help: h}
}

// Init loads the session's account.
func (m *Model) Init() tea.Cmd { return loadAccount(m.e) }

// loadAccount reads the account for the session's key, and its notices, in
// one snapshot, off the UI goroutine. Seq is the change feed's position
// read first: every later change to the account is news to this read.
func loadAccount(e *env) tea.Cmd {
	db, fp, ctx := e.accounts, e.Identity.Fingerprint, e.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return func() tea.Msg {
		seq, err := db.LastSeq(ctx, "")
		if err != nil {
			return accountLoadedMsg{Err: err}
		}
		var msg accountLoadedMsg
		err = db.View(ctx, func(tx store.ReadTx) error {
			a, err := tx.AccountByKey(fp)
			if err != nil {
				return err
			}
			notices, err := tx.Notices(a.ID)
			msg = accountLoadedMsg{Account: a, Notices: notices, Seq: seq}
			return err
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return accountLoadedMsg{NotFound: true}
		case err != nil:
			return accountLoadedMsg{Err: err}
		}
		return msg
	}
}

// TakesText reports whether printable keys go to a text field now.
func (m *Model) TakesText() bool { return m.screen != nil && m.screen.TakesText() }

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.e.Width, m.e.Height = msg.Width, msg.Height
		m.help.Width = max(msg.Width-2*framePadX, 0)
	case tea.KeyMsg:
		if msg.String() == "ctrl+c" {
			return m, tea.Quit
		}
		if m.screen == nil || !m.screen.TakesText() {
			switch {
			case key.Matches(msg, m.e.Keys.Quit):
				return m, tea.Quit
			case key.Matches(msg, m.e.Keys.Help):
				// The QR code alone has no room for help: ? leaves it for
				// the screen, where the help shows.
				if f, ok := m.screen.(fullScreen); ok && f.FullScreen() {
					f.LeaveFullScreen()
				}
				m.showHelp = !m.showHelp
				return m, nil
			}
		}
		if m.storeErr != nil && msg.String() == "r" {
			return m, loadAccount(m.e)
		}
		if m.screen == nil && m.storeErr == nil {
			m.early = append(m.early, msg)
			return m, nil
		}
		// A key typed while the screen's action is in flight, or while a
		// screen asked for is on its way, waits for it rather than being
		// dropped: it acts once the answer is in or the screen shows.
		if m.busy() {
			if len(m.early) < maxHeldKeys {
				m.early = append(m.early, msg)
			}
			return m, nil
		}
	case accountLoadedMsg:
		cmd := m.accountLoaded(msg)
		if m.screen == nil || len(m.early) == 0 {
			return m, cmd
		}
		return m, tea.Batch(cmd, m.replayHeld())
	case navigateMsg:
		if msg.held {
			m.e.navigating--
		}
		var cmd tea.Cmd
		m.screen, cmd = m.open(msg)
		if len(m.early) == 0 || m.busy() {
			return m, cmd
		}
		return m, tea.Batch(cmd, m.replayHeld())
	}
	if m.screen == nil {
		return m, nil
	}
	cmd := m.screen.Update(msg)
	if _, key := msg.(tea.KeyMsg); !key && len(m.early) > 0 && !m.busy() {
		return m, tea.Batch(cmd, m.replayHeld())
	}
	return m, cmd
}

// maxHeldKeys bounds the keys kept while the screen is busy.
const maxHeldKeys = 64

// busyScreen is a screen with an action in flight, during which keys wait.
type busyScreen interface{ Busy() bool }

// busy reports keys must wait: the screen's action is in flight, or a
// screen asked for is not shown yet.
func (m *Model) busy() bool {
	b, ok := m.screen.(busyScreen)
	return m.e.navigating > 0 || ok && b.Busy()
}

// replayHeld hands the keys held before the first screen, or while the
// screen was busy, to Update in the order they were typed; any that meet a
// busy screen again are held again, still in order.
//
// Runes typed together arrive as one key ("kl"); held while a text field
// showed, they stay one. A screen that takes no text matches keys one at a
// time, so such a key is handed to it rune by rune.
func (m *Model) replayHeld() tea.Cmd {
	held := m.early
	m.early = nil
	var cmds []tea.Cmd
	for len(held) > 0 {
		k := held[0]
		held = held[1:]
		if common.FoldedKeys(k) && m.screen != nil && !m.screen.TakesText() {
			held = append(common.SplitKeys(k), held...)
			continue
		}
		_, c := m.Update(k)
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

// accountLoaded takes a fresh read of the account. A store error keeps
// whatever screen was showing and reports the error above it.
func (m *Model) accountLoaded(msg accountLoadedMsg) tea.Cmd {
	if msg.Err != nil {
		m.e.Logger.Error("load account", "fingerprint", m.e.Identity.Fingerprint, "err", msg.Err)
		m.storeErr = msg.Err
		return nil
	}
	m.storeErr = nil
	if msg.NotFound {
		if _, ok := m.screen.(*registerScreen); !ok {
			var cmd tea.Cmd
			m.screen, cmd = m.open(navigateMsg{to: toRegister})
			return cmd
		}
		return nil
	}
	if msg.Account.ID == m.account.ID && msg.Account.Version < m.account.Version {
		// Read before a newer one that is already on screen (reloads the
		// session loop makes can race those this model starts): drop it.
		return nil
	}
	m.e.Bind(msg.Account.ID, msg.Seq)
	m.account, m.notices = msg.Account, msg.Notices
	if s, ok := m.screen.(accountScreen); ok {
		if cmd, keep := s.SetAccount(m.account, m.notices); keep {
			return cmd
		}
	}
	var cmd tea.Cmd
	m.screen, cmd = m.route()
	return cmd
}

// route picks the main screen for the account: the plan picker until a plan
// is chosen, Locked while locked, else the dashboard.
func (m *Model) route() (screen, tea.Cmd) {
	a := m.account
	switch {
	case a.Plan == "":
		return newPlanPicker(m.e, a, pickFirst), nil
	case a.State.Locked():
		return newLockedScreen(m.e, a, m.notices), nil
	}
	d := newDashboard(m.e, a, m.notices)
	return d, d.Init()
}

// moreBelow replaces the last lines of a view taller than the window. It
// fits the narrowest window allowed (minWidth less the frame's padding), so
// it is never cut.
const moreBelow = "… make the window taller to see more"

// View implements tea.Model.
func (m *Model) View() string {
	s := m.e.Styles
	if m.e.Width > 0 && (m.e.Width < minWidth || m.e.Height < minHeight) {
		return fmt.Sprintf("Terminal too small (%d×%d).\nMake it at least %d×%d.\n", m.e.Width, m.e.Height, minWidth, minHeight)
	}
	if f, ok := m.screen.(fullScreen); ok && f.FullScreen() && m.storeErr == nil {
		return f.fullView()
	}
	var b strings.Builder
	if m.storeErr != nil {
		b.WriteString(s.Error.Render("We could not read your account right now. Nothing was lost."))
		b.WriteString("\n")
		b.WriteString(s.Subtle.Render("Press r to try again, q to quit."))
		b.WriteString("\n\n")
	}
	switch {
	case m.screen != nil:
		b.WriteString(m.screen.View(m.e.contentWidth(), m.bodyHeight()))
	case m.storeErr == nil:
		b.WriteString(s.Subtle.Render("Loading your account…"))
	}
	help := m.helpView()
	body := b.String()
	if m.e.Height > 0 {
		// Keep the title and the help line: a view taller than the window
		// would otherwise lose its top lines in the renderer.
		room := m.e.Height - 2*framePadY - frameFooter - strings.Count(help, "\n")
		lines := strings.Split(body, "\n")
		if len(lines) > room {
			lines = append(lines[:max(room-1, 0)], s.Subtle.Render(moreBelow))
			body = strings.Join(lines, "\n")
		}
	}
	return s.App.Render(body + "\n\n" + help)
}

// bodyHeight is the rows inside the frame's padding and footer (0 before
// the first size is known); View cuts a screen's view taller than the room
// its help line leaves.
func (m *Model) bodyHeight() int {
	return max(m.e.Height-2*framePadY-frameFooter, 0)
}

func (m *Model) helpView() string {
	var screen []key.Binding
	if m.screen != nil {
		screen = m.screen.Bindings()
	}
	if m.screen != nil && m.screen.TakesText() {
		// ? is a letter here, so there is no full help to leave keys to.
		return common.HelpView(append(screen[:len(screen):len(screen)], m.e.Keys.CtrlCQuit), m.e.contentWidth(), m.e.Styles)
	}
	tail := []key.Binding{m.e.Keys.Help, m.e.Keys.Quit}
	if m.showHelp {
		return m.help.FullHelpView(columns(append(screen[:len(screen):len(screen)], tail...), 4))
	}
	return m.shortHelp(screen, tail)
}

// shortHelp is the one-line help: as many of the screen's keys as fit the
// width, in order, then tail (the keys to the full help and to quit), which
// always stay in view, as does the screen's way back (esc); the full list
// is under ?.
func (m *Model) shortHelp(screen, tail []key.Binding) string {
	var keep []key.Binding
	for _, b := range screen {
		if slices.Contains(b.Keys(), "esc") {
			keep = append(keep, b)
		}
	}
	w := m.e.contentWidth()
	bs := common.FitHelp(screen, tail, append(keep, tail...), w)
	if len(bs) == len(keep)+len(tail) && len(screen) > len(keep) {
		// Keeping the way back left none of the screen's own keys (a
		// confirmation's y): its first keys matter more there.
		bs = common.FitHelp(screen, tail, tail, w)
	}
	return common.HelpView(bs, 0, m.e.Styles)
}

// columns splits bindings into columns of at most n for the full help.
func columns(bindings []key.Binding, n int) [][]key.Binding {
	var out [][]key.Binding
	for len(bindings) > n {
		out = append(out, bindings[:n])
		bindings = bindings[n:]
	}
	return append(out, bindings)
}
