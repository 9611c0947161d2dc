package sshserver

import (
	"reflect"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Bubble Tea v1 reports every printable rune of one read as one key message
// ("jjj", "23", "?4"), and screens match keys one at a time, so a fast
// typist or a laggy link lost keys. safeModel therefore hands such a message
// to the session's model key by key, in order. A bracketed paste (Paste set)
// stays one message, and so do runes typed into a text field: the field
// takes them all at once, as it would a paste.
//
// A key's command may carry what the next key depends on (leaving a
// screen, opening a dialog), so before the next key of the same message
// safeModel waits up to keySettle for that command and delivers its
// portal messages first, as if the keys had come a moment apart. A command
// still running then (a tick, a call to Stripe) goes on as usual.

// keySettle bounds the wait for one key's command before the next key.
const keySettle = 100 * time.Millisecond

// textTaker is a root model that can say whether printable keys currently
// go to a text field.
type textTaker interface{ TakesText() bool }

// keyQueue holds the keys of a split message not yet handed on.
type keyQueue struct {
	pending []tea.KeyMsg
	// waiting is set while a key's command settles; keys arriving then wait
	// their turn.
	waiting bool
}

// keyStepMsg carries what a key's command produced within keySettle.
type keyStepMsg struct {
	msgs []tea.Msg // portal messages, delivered before the next key
	late []tea.Cmd // everything else, handed to the program
	quit bool
}

// takesText reports whether the session's model sends printable keys to a
// text field now.
func (s safeModel) takesText() bool {
	t, ok := s.m.(textTaker)
	return ok && t.TakesText()
}

// drain hands queued keys on until one returns a command while more keys
// wait; that command then settles first (see keySettle).
func (s *safeModel) drain(cmds []tea.Cmd) tea.Cmd {
	q := s.keys
	for len(q.pending) > 0 && !s.dead {
		k := q.pending[0]
		q.pending = q.pending[1:]
		if k.Type == tea.KeyRunes && !k.Paste && !k.Alt && s.takesText() {
			// A text field takes the run of runes that follows in one go.
			for len(q.pending) > 0 && q.pending[0].Type == tea.KeyRunes && !q.pending[0].Alt {
				k.Runes = append(k.Runes, q.pending[0].Runes...)
				q.pending = q.pending[1:]
			}
		}
		cmd := s.update(k)
		if cmd == nil {
			continue
		}
		if len(q.pending) == 0 {
			cmds = append(cmds, cmd)
			break
		}
		q.waiting = true
		cmds = append(cmds, settleCmd(cmd))
		break
	}
	if s.dead {
		q.pending = nil
	}
	return tea.Batch(cmds...)
}

// step takes a settled command's result and goes on with the queue.
func (s *safeModel) step(msg keyStepMsg) tea.Cmd {
	q := s.keys
	q.waiting = false
	if msg.quit {
		q.pending = nil
		return tea.Quit
	}
	cmds := msg.late
	for _, m := range msg.msgs {
		switch m.(type) {
		case panicMsg, shutdownMsg:
			q.pending = nil
			return tea.Quit
		}
		cmds = append(cmds, s.update(m))
	}
	return s.drain(cmds)
}

// settleCmd runs cmd, waiting at most keySettle for it and for the commands
// of a batch it yields.
func settleCmd(cmd tea.Cmd) tea.Cmd {
	return func() tea.Msg {
		var st keyStepMsg
		settle(cmd, time.Now().Add(keySettle), &st)
		return st
	}
}

func settle(cmd tea.Cmd, deadline time.Time, st *keyStepMsg) {
	if cmd == nil {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-t.C:
		st.late = append(st.late, func() tea.Msg { return <-ch })
		return
	case msg := <-ch:
		switch msg := msg.(type) {
		case nil:
		case tea.QuitMsg:
			st.quit = true
		case tea.BatchMsg:
			parts := make([]keyStepMsg, len(msg))
			var wg sync.WaitGroup
			for i, c := range msg {
				wg.Add(1)
				go func() {
					defer wg.Done()
					settle(c, deadline, &parts[i])
				}()
			}
			wg.Wait()
			for _, p := range parts {
				st.msgs = append(st.msgs, p.msgs...)
				st.late = append(st.late, p.late...)
				st.quit = st.quit || p.quit
			}
		default:
			if ownMsg(msg) {
				st.msgs = append(st.msgs, msg)
			} else {
				// Bubble Tea's own messages (sequences, screen modes) are
				// the program's to handle.
				st.late = append(st.late, func() tea.Msg { return msg })
			}
		}
	}
}

// ownMsg reports whether msg is one of the portal's messages, which the
// session's model handles, rather than one of Bubble Tea's.
func ownMsg(msg tea.Msg) bool {
	t := reflect.TypeOf(msg)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.PkgPath(), "github.com/portal/portal/")
}
