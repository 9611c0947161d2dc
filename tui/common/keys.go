package common

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the set of bindings shared by every screen; screens add their
// own. The help line is generated from the bindings a screen reports, so a
// key that is not bound on a screen is never advertised there.
type KeyMap struct {
	Quit   key.Binding
	Help   key.Binding
	Submit key.Binding
	Next   key.Binding
	Prev   key.Binding
}

// NewKeyMap returns the default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "back")),
	}
}
