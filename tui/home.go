package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// homeScreen shows a registered account.
type homeScreen struct {
	c       *common.Common
	account store.Account
}

func newHomeScreen(c *common.Common, a store.Account) *homeScreen {
	return &homeScreen{c: c, account: a}
}

func (h *homeScreen) TakesText() bool                  { return false }
func (h *homeScreen) Bindings() []key.Binding          { return nil }
func (h *homeScreen) Update(tea.Msg) (screen, tea.Cmd) { return h, nil }

func (h *homeScreen) View() string {
	s := h.c.Styles
	a := h.account
	plan := a.Plan
	if plan == "" {
		plan = "no plan yet"
	}
	var b strings.Builder
	b.WriteString(s.Title.Render("Your account"))
	b.WriteString("\n\n")
	row := func(label, value string) {
		b.WriteString(s.Label.Render(label))
		b.WriteString(s.Value.Render(value))
		b.WriteString("\n")
	}
	row("Email", a.Email)
	row("Key", h.c.Identity.Fingerprint)
	row("Plan", plan)
	return b.String()
}
