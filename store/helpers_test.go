package store

import (
	"io/fs"
	"os"
	"testing"
)

func assertMode(tb testing.TB, path string, want fs.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		tb.Errorf("%s mode = %o, want %o", path, got, want)
	}
}
