package tui_test

import (
	"testing"

	"github.com/portal/portal/portaltest"
)

// An address and enter typed in one write the moment the session opens
// (before the first frame) are both acted on, also when enter arrives as
// "\n": typed while OpenSSH is still connecting, it passes through the
// client's terminal in cooked mode (seen in tmux: the address showed, enter
// was lost).
func TestTypedBeforeFirstFrameActs(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	for _, enter := range []string{"\r", "\n"} {
		s := p.Connect(t, portaltest.NewKey(t), portaltest.WithSize(80, 24))
		if _, err := s.Write([]byte("a@b.c" + enter)); err != nil {
			t.Fatal(err)
		}
		s.WaitFor(t, "real top-level domain")
		s.Close()
	}
}
