// Package portaltest is the portal's end-to-end test harness.
//
// Start runs the real portal (package app) in-process on free loopback ports
// with a temporary data directory. Connect dials it with
// golang.org/x/crypto/ssh, requests a PTY, and feeds everything the server
// sends into a github.com/charmbracelet/x/vt terminal emulator, so tests
// assert on what a user would see:
//
//	p := portaltest.Start(t)
//	s := p.Connect(t, portaltest.NewKey(t))
//	s.WaitFor(t, "Email")
//	s.Type("me@example.com", "enter")
//	s.WaitFor(t, "Your account")
//
// The emulator answers the server's terminal queries (background colour,
// device attributes, cursor position) over the session's stdin, as a real
// terminal does; Bubble Tea served by wish waits for those answers before
// its first frame.
//
// Synchronisation is by watching the screen, never by sleeping: WaitFor and
// WaitGone wake on every byte the server sends. Keys are written one per
// SSH write, but the server may still read several writes at once; where a
// test depends on the program seeing two keys separately, wait for the
// screen to change in between.
package portaltest
