// Package tui is the portal's terminal interface: the Bubble Tea models (one
// file per screen, each a common.Component; the root alone builds them, in
// navigate.go), the wish middleware stack that
// puts an identity on every SSH session, and the session registry that pushes
// store changes into open programs.
//
// Every screen renders from its model alone (View is a pure function of the
// model), so golden tests can pin each screen at a fixed size and clock.
package tui
