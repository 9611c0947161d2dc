package tui_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
)

// The idle timeout counts input only: a silent session closes, a typing one
// stays, and a dashboard that redraws every second (server writes, which
// reset SSH's own idle timer) does not keep a silent session open.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 3 * time.Second
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) { c.IdleTimeout = idle }))
	closed := "Closed after 3 seconds without input." // in words, not "3s"

	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		s := p.Connect(t, portaltest.NewKey(t))
		s.WaitFor(t, "Email")
		s.WaitClosed(t)
		s.WaitFor(t, closed)
	})

	t.Run("typing", func(t *testing.T) {
		t.Parallel()
		s := p.Connect(t, portaltest.NewKey(t))
		s.WaitFor(t, "Email")
		// A key every 300 ms for three timeouts: the last keys reach the
		// field only if the session is still open long past one timeout.
		const n = 30
		for range n {
			s.Type("a")
			time.Sleep(idle / 10)
		}
		s.WaitFor(t, "> "+strings.Repeat("a", n))
		s.WaitClosed(t) // and once the typing stops, it closes
		s.WaitFor(t, closed)
	})

	t.Run("ticking", func(t *testing.T) {
		t.Parallel()
		key := portaltest.NewKey(t)
		first := signUp(t, p, key, "tick@example.com", "2")
		first.Close()
		advance(t, p, 30*day-30*time.Minute) // the last hour: one redraw a second
		s := p.Connect(t, key, wide)
		countdown := regexp.MustCompile(`\d+ minutes? \d+ seconds? left`)
		s.WaitScreen(t, "a countdown in seconds", func(scr string) bool { return countdown.MatchString(scr) })
		s.Type("?") // the last input: only server writes from here on
		was := countdown.FindString(s.Screen())
		s.WaitScreen(t, "the countdown to tick without input", func(scr string) bool {
			c := countdown.FindString(scr)
			return c != "" && c != was
		})
		s.WaitClosed(t)
		s.WaitFor(t, closed)
	})
}
