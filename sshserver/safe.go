package sshserver

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/portal/portal/internal/requestid"
	"github.com/portal/portal/tui/common"
)

// panickedKey marks, in the session's context, a session whose program
// panicked, for commandMiddleware to apologise once the program is gone.
type panickedKey struct{}

// safeModel runs a session's model so that a panic in Init, Update, View or
// a command they return is logged with its stack through slog and ends that
// session alone. It also ends the program on shutdownMsg, whatever the model
// (the ops view knows nothing of the customer UI's messages). Bubble Tea would catch it too, but print the stack to the
// process's stdout and leave the customer a blank screen and exit status 0.
// (Commands inside a tea.Sequence are out of reach; Bubble Tea's own catch
// still covers those.)
type safeModel struct {
	m   tea.Model
	log *slog.Logger
	ctx ssh.Context
	// quit ends the program from View, which cannot return a command.
	quit func()
	// keys holds the rest of a message of several keys (see keysplit.go).
	keys *keyQueue
	// dead is set once the model panicked: nothing more is handed to it.
	dead bool
	obs  Observer // nil: nobody
}

// panicMsg reports a panic recovered in a command.
type panicMsg struct{}

func (s safeModel) recovered(where string, r any) {
	requestid.Logger(s.ctx, s.log).Error("session panic", "in", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	if s.obs != nil {
		s.obs.PanicRecovered()
	}
	s.ctx.SetValue(panickedKey{}, true)
}

func (s safeModel) Init() (cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			s.recovered("Init", r)
			cmd = tea.Quit
		}
	}()
	return s.wrap(s.m.Init())
}

func (s safeModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if s.keys == nil {
		s.keys = &keyQueue{}
	}
	switch msg := msg.(type) {
	case panicMsg, shutdownMsg:
		return s, tea.Quit
	case appliedMsg:
		// The registry's barrier after a reload (registry.go: follow):
		// nothing for the model.
		return s, nil
	case keyStepMsg:
		cmd := s.step(msg)
		return s, cmd
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlJ {
			// A newline is enter: what is typed while ssh is still
			// connecting reaches us through the client's terminal in cooked
			// mode, where enter became "\n" (Bubble Tea's ctrl+j).
			msg = tea.KeyMsg{Type: tea.KeyEnter, Alt: msg.Alt}
		}
		if s.keys.waiting || len(s.keys.pending) > 0 || common.FoldedKeys(msg) {
			s.keys.pending = append(s.keys.pending, common.SplitKeys(msg)...)
			if s.keys.waiting {
				return s, nil
			}
			cmd := s.drain(nil)
			return s, cmd
		}
		cmd := s.update(msg)
		return s, cmd
	}
	cmd := s.update(msg)
	return s, cmd
}

// update hands msg to the session's model, recovering a panic.
func (s *safeModel) update(msg tea.Msg) (cmd tea.Cmd) {
	if s.dead {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			s.recovered("Update", r)
			s.dead = true
			cmd = tea.Quit
		}
	}()
	next, cmd := s.m.Update(msg)
	s.m = next
	return s.wrap(cmd)
}

func (s safeModel) View() (v string) {
	defer func() {
		if r := recover(); r != nil {
			s.recovered("View", r)
			s.quit()
			v = ""
		}
	}()
	return s.m.View()
}

// wrap makes cmd, and the commands of a batch it yields, recover too.
func (s safeModel) wrap(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				s.recovered("command", r)
				msg = panicMsg{}
			}
		}()
		msg = cmd()
		if batch, ok := msg.(tea.BatchMsg); ok {
			for i, c := range batch {
				batch[i] = s.wrap(c)
			}
		}
		return msg
	}
}
