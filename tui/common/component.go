package common

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Component is one screen of a session, customer or ops: the contract both
// root models (tui.Model, the ops model) hold their screens by, after
// soft-serve's pkg/ui/common.Component.
//
//   - A component is a pointer and changes in place: Update handles msg and
//     returns the command to run (nil for none). It ignores messages that are
//     not its own (the ops root gives some to every tab).
//   - It never builds another component. To show another screen it returns a
//     command whose message asks its root (tui: navigateMsg{to: …}; ops:
//     openDetailMsg, closeDetailMsg); only the root builds screens, so each
//     root's screen graph is one switch (tui: Model.open; ops: newModel and
//     Update).
//   - View draws it in width×height cells: the room inside the root's frame
//     (title, status and help line are the root's). A root may cut a view
//     taller than height.
//   - Bindings are the keys it answers to now, most used first, taken from
//     Common.Keys (the one KeyMap); disabled ones are not shown. The root
//     builds the help line from them (FitHelp) and adds its own (help, quit,
//     tabs). A key not in Bindings is never advertised.
//   - TakesText reports that printable keys go to a text field: the root
//     then neither quits on q nor opens the help on ?, and offers ctrl+c to
//     quit instead.
//
// A root may look for optional interfaces beside it (tui: SetAccount for a
// fresh read of the account, Busy to hold keys while an action runs,
// FullScreen for a QR code drawn on the whole window).
type Component interface {
	Update(msg tea.Msg) tea.Cmd
	View(width, height int) string
	Bindings() []key.Binding
	TakesText() bool
}
