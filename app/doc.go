// Package app wires the portal together: the bbolt store, the SSH server
// with the terminal UI, the HTTP server (health, Stripe webhooks and, in
// sandbox mode, the offline Stripe sandbox), and graceful shutdown.
//
// It lives outside package main so the end-to-end harness can start the
// real server in-process on free ports.
package app
