package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The connection caps only bound descriptors if they fit in the open-file
// limit (issue 11 item 3): a start whose caps exceed it says so, with the
// flags to lower.
func TestCheckFDLimit(t *testing.T) {
	warned := func(nofile uint64, ssh, http int) string {
		var buf bytes.Buffer
		checkFDLimit(slog.New(slog.NewTextHandler(&buf, nil)), nofile, ssh, http)
		return buf.String()
	}
	if got := warned(1<<20, 10_000, 1000); got != "" {
		t.Errorf("caps within the limit: %q", got)
	}
	got := warned(4096, 10_000, 1000)
	for _, want := range []string{"-max-conns", "-http-max-conns", "nofile=4096", "needed=11256"} {
		if !strings.Contains(got, want) {
			t.Errorf("caps past the limit: %q lacks %q", got, want)
		}
	}
}
