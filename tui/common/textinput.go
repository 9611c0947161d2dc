package common

import (
	"unicode"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// TextInput is a bubbles textinput.Model made safe to put in front of
// anyone with an SSH key. Build it with NewTextInput; every text field of the
// portal and of the ops view is one.
//
// It differs from the widget in two bindings of bubbles v1.0.0:
//
//   - Delete word forward (alt+d, alt+delete) is done here. The widget's own
//     version indexes one past the end when the cursor is one character from
//     the end ("ab", left, alt+d), and the panic ends the session.
//   - Paste (ctrl+v) is unbound. The widget reads the clipboard of the
//     machine it runs on: the server's, not the customer's. A terminal's own
//     paste arrives as typed text and still works.
//
// The other word bindings of that version (delete word backward, word
// forward and backward) check their bounds and stay the widget's.
type TextInput struct {
	textinput.Model
}

// NewTextInput returns an unfocused text input with a steady cursor (a blinking one redraws the session twice a second for nothing)
// and the bindings described on TextInput.
func NewTextInput() TextInput {
	in := textinput.New()
	in.Cursor.SetMode(cursor.CursorStatic)
	in.KeyMap.DeleteWordForward.SetEnabled(false)
	in.KeyMap.Paste.SetEnabled(false)
	return TextInput{Model: in}
}

// deleteWordForward has the bindings the widget's DefaultKeyMap gives it.
var deleteWordForward = textinput.DefaultKeyMap.DeleteWordForward

// Update is textinput.Model.Update with delete word forward done safely.
func (t TextInput) Update(msg tea.Msg) (TextInput, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && t.Focused() && key.Matches(k, deleteWordForward) {
		t.deleteWordForward()
		return t, nil
	}
	var cmd tea.Cmd
	t.Model, cmd = t.Model.Update(msg)
	return t, cmd
}

// Edit hands msg to the field and reports whether its text changed: a
// screen's message about the text that was there goes with it.
func (t *TextInput) Edit(msg tea.Msg) (tea.Cmd, bool) {
	before := t.Value()
	var cmd tea.Cmd
	*t, cmd = t.Update(msg)
	return cmd, t.Value() != before
}

// deleteWordForward deletes from the cursor to the end of the next word
// (spaces first, then the word), as the widget means to; a masked input
// loses everything after the cursor, so as not to reveal word breaks.
func (t *TextInput) deleteWordForward() {
	v, pos := []rune(t.Value()), t.Position()
	if pos >= len(v) {
		return
	}
	end := len(v)
	if t.EchoMode == textinput.EchoNormal {
		end = pos
		for end < len(v) && unicode.IsSpace(v[end]) {
			end++
		}
		for end < len(v) && !unicode.IsSpace(v[end]) {
			end++
		}
	}
	t.SetValue(string(v[:pos]) + string(v[end:]))
	t.SetCursor(pos)
}
