package tui

import "github.com/portal/portal/store"

// accountLoadedMsg carries a fresh read of the session's account, made by
// the model (on start, after an action) or by the session's registry loop
// after a commit to the account (the feed only says "re-read"). Err is a
// store failure; NotFound means the key is not registered. Seq is the change
// feed's position read just before the account.
type accountLoadedMsg struct {
	Account  store.Account
	Notices  []store.Notice
	NotFound bool
	Err      error
	Seq      uint64
}
