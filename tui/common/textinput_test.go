package common

import (
	"testing"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// Every word-editing key of bubbles v1.0.0, at every cursor position of a
// few values (edges, one from the edges, spaces): none may panic, and
// delete word forward does what it says. In v1.0.0 itself "ab", left,
// alt+d indexes past the end and ends the session.
func TestTextInputWordKeysAtEveryPosition(t *testing.T) {
	wordKeys := map[string]tea.KeyMsg{
		"alt+d":         {Type: tea.KeyRunes, Runes: []rune("d"), Alt: true},
		"alt+delete":    {Type: tea.KeyDelete, Alt: true},
		"alt+backspace": {Type: tea.KeyBackspace, Alt: true},
		"ctrl+w":        {Type: tea.KeyCtrlW},
		"alt+f":         {Type: tea.KeyRunes, Runes: []rune("f"), Alt: true},
		"alt+b":         {Type: tea.KeyRunes, Runes: []rune("b"), Alt: true},
		"alt+right":     {Type: tea.KeyRight, Alt: true},
		"ctrl+left":     {Type: tea.KeyCtrlLeft},
		"ctrl+k":        {Type: tea.KeyCtrlK},
		"ctrl+u":        {Type: tea.KeyCtrlU},
		"delete":        {Type: tea.KeyDelete},
		"backspace":     {Type: tea.KeyBackspace},
	}
	for _, v := range []string{"", "a", "ab", "a b", "ab  ", "  ab", "a  b c", "é ü"} {
		for name, k := range wordKeys {
			for pos := range len([]rune(v)) + 1 {
				in := NewTextInput()
				in.Focus()
				in.SetValue(v)
				in.SetCursor(pos)
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%q with the cursor at %d, %s: panic: %v", v, pos, name, r)
						}
					}()
					in, _ = in.Update(k)
				}()
			}
		}
	}
}

func TestTextInputDeleteWordForward(t *testing.T) {
	altD := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("d"), Alt: true}
	for _, tc := range []struct {
		value     string
		pos       int
		want      string
		masked    bool
		wantAfter int
	}{
		{"ab", 1, "a", false, 1},
		{"ab", 2, "ab", false, 2},
		{"ab", 0, "", false, 0},
		{"one two three", 3, "one three", false, 3},
		{"one two three", 4, "one  three", false, 4},
		{"one   ", 3, "one", false, 3},
		{"héllo wörld", 6, "héllo ", false, 6},
		{"one two", 1, "o", true, 1}, // masked: no word breaks revealed
	} {
		in := NewTextInput()
		if tc.masked {
			in.EchoMode = textinput.EchoPassword
		}
		in.Focus()
		in.SetValue(tc.value)
		in.SetCursor(tc.pos)
		in, _ = in.Update(altD)
		if in.Value() != tc.want || in.Position() != tc.wantAfter {
			t.Errorf("%q at %d, alt+d: %q at %d, want %q at %d", tc.value, tc.pos, in.Value(), in.Position(), tc.want, tc.wantAfter)
		}
	}
}

// ctrl+v would run the server's clipboard tool and paste the server's
// clipboard into the customer's field.
func TestTextInputDoesNotReadTheServerClipboard(t *testing.T) {
	in := NewTextInput()
	in.Focus()
	in, cmd := in.Update(tea.KeyMsg{Type: tea.KeyCtrlV})
	if cmd != nil {
		if msg := cmd(); msg != nil {
			t.Errorf("ctrl+v produced %T %v", msg, msg)
		}
	}
	if in.Value() != "" {
		t.Errorf("ctrl+v typed %q", in.Value())
	}
}
