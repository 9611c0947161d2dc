package tui

import "github.com/portal/portal/store"

// accountChangedMsg is pushed by the registry after a commit to the account
// a session shows; the model then re-reads the store (never trusting the
// notification for content).
type accountChangedMsg struct{}

// accountLoadedMsg carries a fresh read of the session's account. Err is a
// store failure; NotFound means the key is not registered.
type accountLoadedMsg struct {
	Account  store.Account
	Notices  []store.Notice
	NotFound bool
	Err      error
}

// shutdownMsg tells the session the server is going down; safeModel quits
// the program on it, for customer and ops sessions alike.
type shutdownMsg struct{}
