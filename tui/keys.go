package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/accounts"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// keysScreen lists the account's SSH keys (dashboard k): fingerprint,
// type, label, when added and last used. l makes a link code for a new
// machine; e names the chosen key; d removes it after a confirmation, never
// the last.
type keysScreen struct {
	e       *env
	account store.Account
	cursor  int
	confirm bool // asking whether to remove the chosen key
	// labelling: the label field is open for the chosen key (labelFP).
	labelling bool
	labelFP   string
	label     common.TextInput
	busy      string
	err       string
	done      string
	code      *store.LinkCode // the link code on screen
	keys      struct{ Up, Down, Link, Remove, Label, Save, Cancel, Yes, No, Back key.Binding }
}

type keyLabelledMsg struct {
	account store.Account
	key     string
	err     error
}

type keyRemovedMsg struct {
	account store.Account
	removed string
	err     error
}

type linkCodeMsg struct {
	code store.LinkCode
	err  error
}

func newKeysScreen(e *env, a store.Account) *keysScreen {
	k := &keysScreen{e: e}
	k.keys.Up, k.keys.Down, k.keys.Link = e.Keys.ChooseUp, e.Keys.MoveDown, e.Keys.LinkKey
	k.keys.Remove, k.keys.Yes, k.keys.No = e.Keys.RemoveKey, e.Keys.RemoveYes, e.Keys.RemoveNo
	k.keys.Back = e.Keys.Back
	k.keys.Label, k.keys.Save, k.keys.Cancel = e.Keys.LabelKey, e.Keys.SaveLabel, e.Keys.CancelLabel
	k.label = common.NewTextInput()
	k.label.Prompt = "> "
	k.label.Placeholder = "laptop"
	k.label.CharLimit = store.MaxLabelLen
	k.label.Width = inputWidth(e.Width)
	k.label.PromptStyle = e.Styles.Focused
	k.setAccount(a)
	for i, kk := range a.Keys {
		if kk.Fingerprint == e.Identity.Fingerprint {
			k.cursor = i
		}
	}
	return k
}

func (k *keysScreen) setAccount(a store.Account) {
	k.account = a
	k.cursor = min(k.cursor, max(len(a.Keys)-1, 0))
	k.keys.Remove.SetEnabled(len(a.Keys) > 1)
}

func (k *keysScreen) TakesText() bool { return k.labelling }

// Busy holds keys typed while a change is in flight, so a fast "dy" then
// esc acts in order instead of losing the esc.
func (k *keysScreen) Busy() bool { return k.busy != "" }

func (k *keysScreen) Bindings() []key.Binding {
	switch {
	case k.confirm:
		return []key.Binding{k.keys.Yes, k.keys.No}
	case k.labelling:
		return []key.Binding{k.keys.Save, k.keys.Cancel}
	}
	return []key.Binding{k.keys.Up, k.keys.Link, k.keys.Remove, k.keys.Label, k.keys.Back}
}

// SetAccount follows keys added or removed elsewhere (another session, a
// command) while the list is open.
func (k *keysScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	chosen := ""
	if k.cursor < len(k.account.Keys) {
		chosen = k.account.Keys[k.cursor].Fingerprint
	}
	had := map[string]bool{}
	for _, kk := range k.account.Keys {
		had[kk.Fingerprint] = true
	}
	k.setAccount(a)
	for i, kk := range a.Keys {
		if kk.Fingerprint == chosen {
			k.cursor = i
		}
	}
	if k.confirm && (chosen == "" || k.cursor >= len(a.Keys) || a.Keys[k.cursor].Fingerprint != chosen) {
		k.confirm = false
	}
	if k.labelling {
		if _, ok := accounts.FindKey(a, k.labelFP); !ok {
			k.labelling = false // the key was removed elsewhere
			k.label.Blur()
		}
	}
	for _, kk := range a.Keys {
		if !had[kk.Fingerprint] && k.code != nil {
			// The code on screen did its job (or another one did): say so.
			k.code, k.err, k.done = nil, "", "A new key was added: "+kk.Fingerprint
		}
	}
	return nil, true
}

func (k *keysScreen) chosen() (store.Key, bool) {
	if k.cursor < len(k.account.Keys) {
		return k.account.Keys[k.cursor], true
	}
	return store.Key{}, false
}

func (k *keysScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case keyRemovedMsg:
		k.busy = ""
		if msg.err != nil {
			k.err = accounts.Message(msg.err)
			return nil
		}
		k.err, k.done = "", "Removed "+msg.removed+"."
		k.setAccount(msg.account)
		return nil
	case keyLabelledMsg:
		k.busy = ""
		if msg.err != nil {
			k.err = accounts.Message(msg.err)
			return nil
		}
		k.setAccount(msg.account)
		kk, _ := accounts.FindKey(msg.account, msg.key)
		k.err, k.done = "", "Label of "+msg.key+" removed."
		if kk.Label != "" {
			k.done = "Labelled " + msg.key + ": " + kk.Label + "."
		}
		return nil
	case tea.WindowSizeMsg:
		k.label.Width = inputWidth(msg.Width)
		return nil
	case linkCodeMsg:
		k.busy = ""
		if msg.err != nil {
			k.e.Logger.Warn("link code", "account", k.account.ID, "err", msg.err)
			k.err = accounts.Message(msg.err)
			return nil
		}
		k.code, k.err, k.done = &msg.code, "", ""
		return nil
	case tea.KeyMsg:
		if k.busy != "" {
			return nil
		}
		if k.labelling {
			return k.updateLabel(msg)
		}
		if k.confirm {
			switch {
			case key.Matches(msg, k.keys.Yes):
				kk, ok := k.chosen()
				k.confirm = false
				if !ok {
					return nil
				}
				k.busy = "Removing the key…"
				e, id, fp := k.e, k.account.ID, kk.Fingerprint
				return func() tea.Msg {
					a, err := e.keys.RemoveKey(e.Ctx, id, fp, "key:"+e.Identity.Fingerprint)
					return keyRemovedMsg{account: a, removed: fp, err: err}
				}
			case key.Matches(msg, k.keys.No):
				k.confirm = false
			}
			return nil
		}
		switch {
		case key.Matches(msg, k.keys.Back):
			return k.e.back()
		case key.Matches(msg, k.keys.Up):
			k.cursor = max(k.cursor-1, 0)
			k.err, k.done = "", ""
		case key.Matches(msg, k.keys.Down):
			k.cursor = min(k.cursor+1, max(len(k.account.Keys)-1, 0))
			k.err, k.done = "", ""
		case key.Matches(msg, k.keys.Link):
			k.busy, k.err, k.done = "Making a code…", "", ""
			e, id := k.e, k.account.ID
			return func() tea.Msg {
				c, err := e.keys.NewLinkCode(e.Ctx, id, e.Identity.Fingerprint)
				return linkCodeMsg{code: c, err: err}
			}
		case key.Matches(msg, k.keys.Label):
			kk, ok := k.chosen()
			if !ok {
				return nil
			}
			k.labelling, k.labelFP, k.err, k.done, k.code = true, kk.Fingerprint, "", "", nil
			k.label.SetValue(kk.Label)
			k.label.CursorEnd()
			return k.label.Focus()
		case msg.String() == "d" || msg.String() == "delete":
			k.err, k.done = "", ""
			if len(k.account.Keys) < 2 {
				k.err = "This is the account's only key: link another one (l) before removing it."
				return nil
			}
			k.confirm = true
		}
	}
	return nil
}

// updateLabel is the label field's Update: enter saves (empty clears the
// label), esc leaves it as it was.
func (k *keysScreen) updateLabel(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, k.keys.Cancel):
		k.labelling = false
		k.label.Blur()
		return nil
	case key.Matches(msg, k.keys.Save):
		k.labelling = false
		k.label.Blur()
		k.busy = "Saving the label…"
		e, id, fp, label := k.e, k.account.ID, k.labelFP, k.label.Value()
		return func() tea.Msg {
			a, err := e.keys.SetLabel(e.Ctx, id, fp, label, "key:"+e.Identity.Fingerprint)
			return keyLabelledMsg{account: a, key: fp, err: err}
		}
	}
	var cmd tea.Cmd
	k.label, cmd = k.label.Update(msg)
	return cmd
}

func (k *keysScreen) View(width, _ int) string {
	s := k.e.Styles
	w := width
	b := k.e.page("Your SSH keys")
	// In a short window a code on screen, or the label field, goes first:
	// the list waits.
	list := k.account.Keys
	short := k.e.Height > 0 && k.e.contentHeight() < 14
	if short && (k.labelling || k.code != nil && k.busy == "" && k.err == "" && !k.confirm) {
		list = nil
	}
	for i, kk := range list {
		mark := "  "
		fp := ansi.Truncate(kk.Fingerprint, w-2, "…")
		if i == k.cursor {
			mark = s.Focused.Render("› ")
			fp = s.Focused.Render(fp)
		}
		b.WriteString(mark + fp + "\n")
		parts := []string{strings.TrimPrefix(kk.Type(), "ssh-")}
		if kk.Label != "" {
			parts = append(parts, kk.Label)
		}
		parts = append(parts, "added "+shortTime(kk.AddedAt, w))
		switch {
		case kk.Fingerprint == k.e.Identity.Fingerprint:
			parts = append(parts, "this key (in use)")
		case kk.LastUsedAt.IsZero():
			parts = append(parts, "never used")
		default:
			parts = append(parts, "used "+shortTime(kk.LastUsedAt, w))
		}
		b.WriteString("  " + s.Subtle.Render(joinFit(parts, " · ", w-2, "\n  ")) + "\n")
	}
	switch {
	case k.labelling:
		if list != nil {
			b.WriteString("\n")
		}
		b.WriteString(s.Focused.Render(wrap("Label for "+k.labelFP+" (empty to clear):", w)) + "\n")
		b.WriteString(k.label.View())
	case k.confirm:
		kk, _ := k.chosen()
		b.WriteString("\n")
		if kk.Fingerprint == k.e.Identity.Fingerprint {
			b.WriteString(s.Warn.Render(wrap("This is the key you are using now. Once it is removed, this session "+
				"shows the welcome screen, and so will connecting with this key again; your other keys keep the account.", w)))
			b.WriteString("\n")
		}
		b.WriteString(s.Focused.Render(wrap("Remove "+kk.Fingerprint+"? (y/n)", w)))
	case k.busy != "":
		b.WriteString("\n" + s.Subtle.Render(k.busy))
	case k.err != "":
		b.WriteString("\n" + s.Error.Render(wrapHanging("✗ "+k.err, w, 2)))
	case k.code != nil:
		if list != nil {
			b.WriteString("\n")
		}
		b.WriteString(k.codeView(w))
	case k.done != "":
		b.WriteString("\n" + s.OK.Render(wrapHanging("✓ "+k.done, w, 2)))
	}
	return b.String()
}

// codeView shows the link code and the exact command for the new machine.
func (k *keysScreen) codeView(w int) string {
	s := k.e.Styles
	c := *k.code
	code := accounts.FormatCode(c.Code)
	lines := []string{
		wrap("On the new machine, run:", w),
		"  " + s.Focused.Render(k.e.sshCommand+" link "+code),
		wrap("or type "+code+" on its welcome screen (tab).", w),
		s.Subtle.Render(wrap(fmt.Sprintf("It works once, for %d minutes (until %s UTC).", int(accounts.CodeTTL/time.Minute),
			c.ExpiresAt.UTC().Format("15:04")), w)),
	}
	return strings.Join(lines, "\n")
}

// shortTime is a key's time on the keys screen, in UTC: the day alone
// in a narrow window, so a key's details fit one line.
func shortTime(t time.Time, w int) string {
	if w < 60 {
		return t.UTC().Format("Jan 2")
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// joinFit joins parts with sep, breaking lines (with brk) only between
// parts, so no date is cut in two; w is the width a line may take.
func joinFit(parts []string, sep string, w int, brk string) string {
	var b strings.Builder
	line := 0
	for i, p := range parts {
		pw := ansi.StringWidth(p)
		switch {
		case i == 0:
		case line+ansi.StringWidth(sep)+pw <= w:
			b.WriteString(sep)
			line += ansi.StringWidth(sep)
		default:
			b.WriteString(strings.TrimRight(sep, " ") + brk)
			line = 0
		}
		b.WriteString(p)
		line += pw
	}
	return b.String()
}
