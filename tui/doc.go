// Package tui is the portal's customer terminal interface: the Bubble Tea
// models (one file per screen), their styles and key maps, and the script
// commands (`ssh host status`, …). The SSH layer that serves it (middleware,
// identity, panic containment, idle timeout, input rate, the session
// registry that pushes store changes into open programs) is package
// sshserver, which builds each session's model with UI.NewSession.
//
// Every screen renders from its model alone (View is a pure function of the
// model), so golden tests can pin each screen at a fixed size and clock.
package tui
