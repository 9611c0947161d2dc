//go:build !unix

package app

// openFileLimit is unknown here: no check.
func openFileLimit() (uint64, bool) { return 0, false }
