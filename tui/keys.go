package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is the set of bindings shared by every screen; screens add their
// own. The help line is generated from the bindings a screen reports, so a
// key that is not bound on a screen is never advertised there.
type keyMap struct {
	Quit   key.Binding
	Help   key.Binding
	Submit key.Binding
	Next   key.Binding
	Prev   key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "back")),
	}
}

// bindingHelp adapts a list of bindings to help.KeyMap.
type bindingHelp []key.Binding

func (b bindingHelp) ShortHelp() []key.Binding  { return b }
func (b bindingHelp) FullHelp() [][]key.Binding { return [][]key.Binding{b} }
