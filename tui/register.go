package tui

import (
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/accounts"
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
	// codeMode: the customer has a link code from a session of their
	// account (tab switches); code is its field.
	codeMode bool
	code     common.TextInput
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
	code := common.NewTextInput()
	code.Prompt = "> "
	code.Placeholder = "7KQ2-M9XD"
	code.CharLimit = 20
	code.Width = 20
	code.PromptStyle = c.Styles.Focused
	return &registerScreen{c: c, input: in, code: code}
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

// Busy reports a registration or link in flight: keys typed meanwhile wait
// for the screen that follows (the plan picker) instead of landing in the
// email field.
func (r *registerScreen) Busy() bool { return r.pending }

func (r *registerScreen) Bindings() []key.Binding {
	if r.codeMode {
		return []key.Binding{r.c.Keys.LinkWithCode, r.c.Keys.RegisterInst}
	}
	return []key.Binding{r.c.Keys.Register, r.c.Keys.HaveCode}
}

// linkFailedMsg reports a refused link code.
type linkFailedMsg struct{ Err error }

func (r *registerScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		r.input.Width = inputWidth(msg.Width)
	case tea.KeyMsg:
		if msg.Type == tea.KeyTab && !r.pending {
			r.codeMode, r.err = !r.codeMode, ""
			if r.codeMode {
				r.input.Blur()
				return r.code.Focus()
			}
			r.code.Blur()
			return r.input.Focus()
		}
		if r.codeMode {
			return r.updateCode(msg)
		}
		if msg.Type == tea.KeyEnter {
			if r.pending {
				return nil
			}
			email, err := ValidateEmail(r.input.Value())
			if err != nil {
				r.err = err.Error()
				return nil
			}
			r.err, r.pending = "", true
			return r.register(email)
		}
	case linkFailedMsg:
		r.pending = false
		r.err = accounts.Message(msg.Err)
		if errors.Is(msg.Err, store.ErrKeyTaken) {
			return loadAccount(r.c)
		}
		return nil
	case registerFailedMsg:
		r.pending = false
		switch {
		case errors.Is(msg.Err, store.ErrEmailTaken):
			r.err = "That address already has an account, registered with another key. Connect with that key to use it, " +
				"or add this one: make a code in a session of that account (keys, then l) and press tab here to type it."
		case errors.Is(msg.Err, store.ErrKeyTaken):
			// Another session registered this key meanwhile: show its account.
			return loadAccount(r.c)
		default:
			r.c.Logger.Error("register", "err", msg.Err)
			r.err = "We could not save your account just now. Nothing was lost: press enter to try again."
		}
		return nil
	case registeredMsg:
		return func() tea.Msg { return accountLoadedMsg{Account: msg.Account} }
	}
	cmd, changed := r.input.Edit(msg)
	if changed {
		r.err = ""
	}
	return cmd
}

// updateCode is the code field's Update: enter links this key with the code.
func (r *registerScreen) updateCode(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyEnter {
		if r.pending {
			return nil
		}
		if strings.TrimSpace(r.code.Value()) == "" {
			r.err = "Type the code shown in a session of your account (keys, then l)."
			return nil
		}
		r.err, r.pending = "", true
		c, code := r.c, r.code.Value()
		return func() tea.Msg {
			a, err := c.keys.Link(c.Ctx, code, store.Key{Fingerprint: c.Identity.Fingerprint, PublicKey: c.Identity.PublicKey}, c.remote)
			if err != nil {
				return linkFailedMsg{Err: err}
			}
			c.keys.Used(c.Ctx, a, c.Identity.Fingerprint) // this session is the key's first use
			return registeredMsg{Account: a}
		}
	}
	cmd, changed := r.code.Edit(msg)
	if changed {
		r.err = ""
	}
	return cmd
}

func (r *registerScreen) register(email string) tea.Cmd {
	c := r.c
	return func() tea.Msg {
		// AddedAt is left to the store, which stamps it and CreatedAt with
		// its wall clock: c.Now is the billing clock, for trial times only.
		a, err := c.accounts.CreateAccount(email, store.Key{
			Fingerprint: c.Identity.Fingerprint,
			PublicKey:   c.Identity.PublicKey,
		})
		if err != nil {
			return registerFailedMsg{Err: err}
		}
		if c.keys != nil {
			// The session's start found no account to stamp: this session
			// is the key's first use, shown as "last used" on the keys screen.
			c.keys.Used(c.Ctx, a, c.Identity.Fingerprint)
		}
		return registeredMsg{Account: a}
	}
}

func (r *registerScreen) View(width, _ int) string {
	s := r.c.Styles
	w := width
	// A short window keeps the field and its message in view: the key and
	// the blank lines go first.
	compact := r.c.Height > 0 && r.c.contentHeight() < 10
	lines := []string{s.Title.Render("Welcome to the portal")}
	if !compact {
		lines = append(lines, "")
	}
	intro, label, field := "This key is new here. Register it with your email address.", "Email", r.input.View()
	if r.codeMode {
		intro, label, field = "Add this key to an account with a link code (made there: k, then l).", "Code", r.code.View()
	}
	lines = append(lines, wrap(intro, w))
	if !compact {
		lines = append(lines, s.Subtle.Render(ansi.Truncate("Key "+r.c.Identity.Fingerprint, w, "…")), "")
	}
	lines = append(lines, s.Focused.Render(label), field)
	switch {
	case r.pending && r.codeMode:
		lines = append(lines, s.Subtle.Render("Linking…"))
	case r.pending:
		lines = append(lines, s.Subtle.Render("Registering…"))
	case r.err != "":
		lines = append(lines, s.Error.Render(wrapHanging("✗ "+r.err, w, 2)))
	case !compact:
		lines = append(lines, "") // the message's line, so the help line stays put
	}
	return strings.Join(lines, "\n")
}
