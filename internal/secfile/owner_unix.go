//go:build unix

package secfile

import (
	"io/fs"
	"syscall"
)

// owner returns the file's owner.
func owner(fi fs.FileInfo) (int, bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), true
	}
	return 0, false
}
