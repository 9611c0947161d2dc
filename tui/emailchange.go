package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// emailScreen changes the account's email (dashboard e). Billing keeps the
// Stripe customer's address in step and refuses one another account uses.
type emailScreen struct {
	e       *env
	account store.Account
	input   common.TextInput
	busy    bool
	err     string
	done    string
}

type emailChangedMsg struct {
	account store.Account
	err     error
}

func newEmailScreen(e *env, a store.Account) *emailScreen {
	in := common.NewTextInput()
	in.Prompt = "> "
	in.Placeholder = "new@example.com"
	in.CharLimit = maxEmailLen + 10
	in.Width = inputWidth(e.Width)
	in.PromptStyle = e.Styles.Focused
	in.Focus()
	return &emailScreen{e: e, account: a, input: in}
}

func (m *emailScreen) TakesText() bool { return true }

func (m *emailScreen) Bindings() []key.Binding {
	return []key.Binding{m.e.Keys.ChangeEmail, m.e.Keys.Back}
}

func (m *emailScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	m.account = a
	return nil, true
}

func (m *emailScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.input.Width = inputWidth(msg.Width)
	case emailChangedMsg:
		m.busy = false
		if m.e.failed(&m.err, "change email", m.account.ID, msg.err) {
			return nil
		}
		m.account, m.done = msg.account, "Your email is now "+msg.account.Email+"."
		m.input.SetValue("")
		return nil
	case tea.KeyMsg:
		if m.busy {
			return nil
		}
		switch msg.Type {
		case tea.KeyEsc:
			return m.e.back()
		case tea.KeyEnter:
			email, err := ValidateEmail(m.input.Value())
			if err != nil {
				m.err, m.done = err.Error(), ""
				return nil
			}
			if strings.EqualFold(email, m.account.Email) {
				m.err, m.done = "That is your address already.", ""
				return nil
			}
			m.busy, m.err, m.done = true, "", ""
			e, id := m.e, m.account.ID
			return func() tea.Msg {
				a, err := e.billing.ChangeEmail(e.Ctx, id, email, "key:"+e.Identity.Fingerprint)
				return emailChangedMsg{account: a, err: err}
			}
		}
	}
	cmd, changed := m.input.Edit(msg)
	if changed {
		m.err, m.done = "", ""
	}
	return cmd
}

func (m *emailScreen) View(width, _ int) string {
	s := m.e.Styles
	w := width
	lines := []string{s.Title.Render("Change your email"), "",
		wrap("Now: "+m.account.Email, w),
		s.Subtle.Render(wrap("Notices and Stripe's receipts go to this address.", w)), "",
		s.Focused.Render("New email"), m.input.View()}
	switch {
	case m.busy:
		lines = append(lines, s.Subtle.Render("Changing…"))
	case m.err != "":
		lines = append(lines, s.Error.Render(wrapHanging("✗ "+m.err, w, 2)))
	case m.done != "":
		lines = append(lines, s.OK.Render(wrapHanging("✓ "+m.done, w, 2)))
	}
	return strings.Join(lines, "\n")
}
