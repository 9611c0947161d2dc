package ops

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// poller is a tab's poll loop: it ticks every `every` while the tab is
// shown (what it reads moves without the change feed: the sandbox clock,
// events that touch no account, mail attempts) and stops when it is
// hidden. Each show starts a new generation, so one loop runs however
// often the tab comes and goes.
type poller struct {
	every time.Duration
	gen   int
	shown bool
}

// pollMsg is a poller's tick. The root hands it to every tab; only the
// poller that sent it, and only its current loop, answers it.
type pollMsg struct {
	p   *poller
	gen int
}

// show starts a new loop for a tab coming into view.
func (p *poller) show(o *Ops) tea.Cmd {
	p.shown = true
	p.gen++
	return p.next(o)
}

// hide ends the loop of a tab leaving view.
func (p *poller) hide() {
	p.shown = false
	p.gen++
}

// due reports whether msg is a tick of p's current loop; the tab then
// re-reads and calls next.
func (p *poller) due(msg pollMsg) bool { return msg.p == p && msg.gen == p.gen && p.shown }

// next schedules the loop's next tick.
func (p *poller) next(o *Ops) tea.Cmd {
	gen := p.gen
	return o.tick(p.every, func(time.Time) tea.Msg { return pollMsg{p: p, gen: gen} })
}
