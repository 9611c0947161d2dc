package portaltest

import (
	"sync/atomic"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"
)

// BenchmarkSessionsBaseline is BenchmarkSessions against a bare wish v1.4.7 +
// Bubble Tea server that draws one line: the floor the portal's figures are
// compared with, measured by the same client in the same run.
//
//	go test ./portaltest -run '^$' -bench Sessions -benchtime 1x -count 5
func BenchmarkSessionsBaseline(b *testing.B) {
	raiseFileLimit(b)
	var live atomic.Int64
	addr := serveWish(b,
		bm.MiddlewareWithProgramHandler(func(s ssh.Session) *tea.Program {
			live.Add(1)
			go func() { <-s.Context().Done(); live.Add(-1) }()
			return tea.NewProgram(bareModel{}, append(bm.MakeOptions(s), tea.WithAltScreen())...)
		}, termenv.Ascii),
	)
	benchSessions(b, addr, func() int { return int(live.Load()) },
		envInt(benchNEnv, 1000), envInt(benchConcEnv, 32))
}

type bareModel struct{}

func (bareModel) Init() tea.Cmd { return nil }
func (m bareModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "ctrl+c" {
		return m, tea.Quit
	}
	return m, nil
}
func (bareModel) View() string { return "Email\n> " }
