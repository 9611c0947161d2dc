package ops

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/tui/common"
)

// clockPoll is how often the clock screen re-reads the sandbox clock while
// shown; it shows minutes, so a faster tick would only cost bandwidth.
const clockPoll = 15 * time.Second

// clockScreen shows the sandbox clock and moves it forward, so a demo can
// play out a trial in seconds. It exists only when a Clock is configured.
type clockScreen struct {
	o    *Ops
	c    *common.Common
	now  time.Time
	poll poller
}

func newClockScreen(o *Ops, c *common.Common) *clockScreen {
	return &clockScreen{o: o, c: c, now: o.cfg.Clock.Now(), poll: poller{every: clockPoll}}
}

func (s *clockScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tabShownMsg:
		s.now = s.o.cfg.Clock.Now()
		return s.poll.show(s.o)
	case tabHiddenMsg:
		s.poll.hide()
	case pollMsg:
		if s.poll.due(msg) {
			s.now = s.o.cfg.Clock.Now()
			return s.poll.next(s.o)
		}
	case actionDoneMsg:
		s.now = s.o.cfg.Clock.Now()
	case tea.KeyMsg:
		a := action{kind: actAdvanceClock}
		switch {
		case key.Matches(msg, s.c.Keys.AddHour):
			a.advance = time.Hour
			return openDialog(confirmDialog(a))
		case key.Matches(msg, s.c.Keys.AddDay):
			a.advance = 24 * time.Hour
			return openDialog(confirmDialog(a))
		case key.Matches(msg, s.c.Keys.AddDays):
			d, cmd := numberDialog("Advance by how many days?", a, 3, 1, 400,
				func(a action, n int) action { a.advance = time.Duration(n) * 24 * time.Hour; return a })
			return tea.Batch(openDialog(d), cmd)
		}
	}
	return nil
}

func (s *clockScreen) TakesText() bool { return false }
func (s *clockScreen) Bindings() []key.Binding {
	return []key.Binding{s.c.Keys.AddHour, s.c.Keys.AddDay, s.c.Keys.AddDays}
}

func (s *clockScreen) View(width, height int) string {
	st := s.c.Styles
	lines := []string{
		st.Title.Render("Sandbox clock"),
		"",
		fit("Now", 14) + s.now.UTC().Format("Mon 2006-01-02 15:04 UTC"),
		"",
		"Every trial countdown and webhook of the offline sandbox follows this clock.",
		"It only moves forward: h adds an hour, d a day, n any number of days.",
		"The sandbox plays out whatever falls due on the way (trial ends, invoices)",
		"and delivers the webhooks, so open sessions follow within moments.",
	}
	return strings.Join(lines[:min(len(lines), height)], "\n")
}
