package tui

import (
	"errors"
	"fmt"
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

// screen is one full-window view. The root model routes messages to the
// current screen and draws the frame (help line, size checks) around it.
type screen interface {
	Update(msg tea.Msg) (screen, tea.Cmd)
	View() string
	// Bindings are the keys this screen answers to, for the help line.
	Bindings() []key.Binding
	// TakesText reports whether printable keys go to a text field, in which
	// case "q" and "?" are typed rather than acted on.
	TakesText() bool
}

// Model is the root Bubble Tea model of one SSH session.
type Model struct {
	c        *common.Common
	screen   screen
	help     help.Model
	showHelp bool
	// storeErr is set while the store cannot be read; the session then shows
	// an error screen, never the register screen.
	storeErr error
}

// NewModel returns the root model for a session described by c.
func NewModel(c *common.Common) *Model {
	h := help.New()
	h.Styles.ShortKey = c.Styles.Help.Bold(true)
	h.Styles.ShortDesc = c.Styles.Help
	h.Styles.FullKey = c.Styles.Help.Bold(true)
	h.Styles.FullDesc = c.Styles.Help
	return &Model{c: c, help: h}
}

// Init loads the session's account.
func (m *Model) Init() tea.Cmd { return loadAccount(m.c) }

// loadAccount reads the account for the session's key off the UI goroutine.
func loadAccount(c *common.Common) tea.Cmd {
	return func() tea.Msg {
		a, err := c.Store.AccountByKey(c.Identity.Fingerprint)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return accountLoadedMsg{NotFound: true}
		case err != nil:
			return accountLoadedMsg{Err: err}
		}
		return accountLoadedMsg{Account: a}
	}
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.help.Width = msg.Width - 4
	case tea.KeyMsg:
		if msg.String() == "ctrl+c" {
			return m, tea.Quit
		}
		if m.screen == nil || !m.screen.TakesText() {
			switch {
			case key.Matches(msg, m.c.Keys.Quit):
				return m, tea.Quit
			case key.Matches(msg, m.c.Keys.Help):
				m.showHelp = !m.showHelp
				return m, nil
			}
		}
		if m.storeErr != nil && msg.String() == "r" {
			return m, loadAccount(m.c)
		}
	case shutdownMsg:
		return m, tea.Quit
	case accountChangedMsg:
		return m, loadAccount(m.c)
	case accountLoadedMsg:
		return m, m.accountLoaded(msg)
	}
	if m.screen == nil {
		return m, nil
	}
	var cmd tea.Cmd
	m.screen, cmd = m.screen.Update(msg)
	return m, cmd
}

// accountLoaded picks the screen for a fresh read of the account. A store
// error keeps whatever screen was showing and reports the error above it.
func (m *Model) accountLoaded(msg accountLoadedMsg) tea.Cmd {
	if msg.Err != nil {
		m.c.Logger.Error("load account", "fingerprint", m.c.Identity.Fingerprint, "err", msg.Err)
		m.storeErr = msg.Err
		return nil
	}
	m.storeErr = nil
	if msg.NotFound {
		if _, ok := m.screen.(*registerScreen); !ok {
			m.screen = newRegisterScreen(m.c)
			return m.screen.(*registerScreen).input.Focus()
		}
		return nil
	}
	m.c.Bind(msg.Account.ID)
	if h, ok := m.screen.(*homeScreen); ok {
		h.account = msg.Account
		return nil
	}
	m.screen = newHomeScreen(m.c, msg.Account)
	return nil
}

// View implements tea.Model.
func (m *Model) View() string {
	s := m.c.Styles
	if m.c.Width > 0 && (m.c.Width < minWidth || m.c.Height < minHeight) {
		return fmt.Sprintf("Terminal too small (%d×%d).\nMake it at least %d×%d.\n", m.c.Width, m.c.Height, minWidth, minHeight)
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
		b.WriteString(m.screen.View())
	case m.storeErr == nil:
		b.WriteString(s.Subtle.Render("Loading your account…"))
	}
	b.WriteString("\n\n")
	b.WriteString(m.helpView())
	return s.App.Render(b.String())
}

func (m *Model) helpView() string {
	var bindings []key.Binding
	if m.screen != nil {
		bindings = append(bindings, m.screen.Bindings()...)
	}
	if m.screen == nil || !m.screen.TakesText() {
		bindings = append(bindings, m.c.Keys.Help, m.c.Keys.Quit)
	} else {
		bindings = append(bindings, key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")))
	}
	if m.showHelp {
		return m.help.FullHelpView([][]key.Binding{bindings})
	}
	return m.help.ShortHelpView(bindings)
}
