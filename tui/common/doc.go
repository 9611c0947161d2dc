// Package common holds what every screen of the portal's terminal UI shares,
// whether customer (package tui) or ops (package tui/ops):
//
//   - Component (component.go): the one screen contract. A screen changes in
//     place on Update, draws itself in the room its root gives it, reports
//     its keys for the help line and whether it takes text; it asks its root
//     to show another screen by message and never builds one itself.
//   - KeyMap (keys.go): every key binding of both views (the customer
//     screens and every ops tab: accounts, summary, webhooks, clock, audit,
//     mail, the detail and its dialogs), declared once; screens copy the
//     ones they answer to from Common.Keys. PickHelp and TabsFor reword a
//     copy for what a session shows.
//   - FitHelp (help.go): the one-line help both roots draw from a screen's
//     bindings.
//   - Common (common.go): the per-session context, clock, styles, keys and
//     identity (no store: screens reach it through their package's own
//     surface, tui.Accounts or the ops config); the identity on a session's
//     context (identity.go); Styles (styles.go); TextInput (textinput.go).
package common
