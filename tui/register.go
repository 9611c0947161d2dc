package tui

import (
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// registerScreen asks an unknown key for an email address and creates the
// account. Errors are shown inline under the field; what was typed stays.
type registerScreen struct {
	c       *env
	input   common.TextInput
	err     string
	pending bool
}

type registeredMsg struct{ Account store.Account }
type registerFailedMsg struct{ Err error }

func newRegisterScreen(c *env) *registerScreen {
	in := common.NewTextInput()
	in.Prompt = "> "
	in.Placeholder = "you@example.com"
	// A little over the 254-byte limit so an overlong address is reported,
	// not silently cut; pasted megabytes stop here.
	in.CharLimit = maxEmailLen + 10
	in.Width = inputWidth(c.Width)
	in.PromptStyle = c.Styles.Focused
	return &registerScreen{c: c, input: in}
}

// inputWidth is the email field's width in a window w cells wide (40
// before the first size is known): inside the frame, with room for the
// prompt and the cursor.
func inputWidth(w int) int {
	if w <= 0 {
		return 40
	}
	return max(min(w-8, 60), 10)
}

func (r *registerScreen) TakesText() bool { return true }

func (r *registerScreen) Bindings() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "register"))}
}

func (r *registerScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		r.input.Width = inputWidth(msg.Width)
	case tea.KeyMsg:
		if msg.Type == tea.KeyEnter {
			if r.pending {
				return r, nil
			}
			email, err := ValidateEmail(r.input.Value())
			if err != nil {
				r.err = err.Error()
				return r, nil
			}
			r.err, r.pending = "", true
			return r, r.register(email)
		}
	case registerFailedMsg:
		r.pending = false
		switch {
		case errors.Is(msg.Err, store.ErrEmailTaken):
			// Keys cannot be linked from here yet: say the two ways on.
			r.err = "That address already has an account, registered with another key. Connect with that key " +
				"to use it, or register this key with another address."
		case errors.Is(msg.Err, store.ErrKeyTaken):
			// Another session registered this key meanwhile: show its account.
			return r, loadAccount(r.c)
		default:
			r.c.Logger.Error("register", "err", msg.Err)
			r.err = "We could not save your account just now. Nothing was lost: press enter to try again."
		}
		return r, nil
	case registeredMsg:
		return r, func() tea.Msg { return accountLoadedMsg{Account: msg.Account} }
	}
	var cmd tea.Cmd
	before := r.input.Value()
	r.input, cmd = r.input.Update(msg)
	if r.input.Value() != before {
		// The message was about what was there; it goes with it.
		r.err = ""
	}
	return r, cmd
}

func (r *registerScreen) register(email string) tea.Cmd {
	c := r.c
	return func() tea.Msg {
		// AddedAt is left to the store, which stamps it and CreatedAt with
		// its wall clock: c.Now is the billing clock, for trial times only.
		a, err := c.Store.CreateAccount(email, store.Key{
			Fingerprint: c.Identity.Fingerprint,
			PublicKey:   c.Identity.PublicKey,
		})
		if err != nil {
			return registerFailedMsg{Err: err}
		}
		return registeredMsg{Account: a}
	}
}

func (r *registerScreen) View() string {
	s := r.c.Styles
	w := r.c.contentWidth()
	// A short window keeps the field and its message in view: the key and
	// the blank lines go first.
	compact := r.c.Height > 0 && r.c.contentHeight() < 10
	lines := []string{s.Title.Render("Welcome to the portal")}
	if !compact {
		lines = append(lines, "")
	}
	lines = append(lines, wrap("This key is new here. Register it with your email address.", w))
	if !compact {
		lines = append(lines, s.Subtle.Render(ansi.Truncate("Key "+r.c.Identity.Fingerprint, w, "…")), "")
	}
	lines = append(lines, s.Focused.Render("Email"), r.input.View())
	switch {
	case r.pending:
		lines = append(lines, s.Subtle.Render("Registering…"))
	case r.err != "":
		lines = append(lines, s.Error.Render(wrapHanging("✗ "+r.err, w, 2)))
	case !compact:
		lines = append(lines, "") // the message's line, so the help line stays put
	}
	return strings.Join(lines, "\n")
}
