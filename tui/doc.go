// Package tui is the portal's customer terminal interface: the Bubble Tea
// models (one file per screen, each a common.Component; the root alone
// builds them, in navigate.go, and a screen asks for another by sending a
// navigateMsg) and their styles. Every key binding is declared once, in
// common.KeyMap; screens copy theirs from Common.Keys. The SSH layer that
// serves it (middleware, identity, panic containment, idle timeout, input
// rate, the session registry that pushes store changes into open programs,
// and the script commands, sshserver/cmd) is package sshserver, which
// builds each session's model with UI.NewSession.
//
// Every screen renders from its model alone (View is a pure function of the
// model), so golden tests can pin each screen at a fixed size and clock.
package tui
