// Package sshserver is the portal's SSH layer, beside package tui as
// soft-serve's pkg/ssh is beside its pkg/ui: the wish middleware stack
// (panic recovery, logging, per-IP session rate, identity from the key the
// client proved it holds, script commands and goodbyes, Bubble Tea), the
// program handler (idle timeout on input, input rate, bracketed-paste bound,
// terminal queries, key splitting, panic containment) and the live session
// registry, one loop per session following its account in the store's
// change feed (wishlist style). The script commands are package cmd's, as
// soft-serve's are pkg/ssh/cmd's; the screens are package tui's, and this
// package builds each session's model through tui.UI and knows no screen.
package sshserver
