package sshguard

import (
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"
)

// tagEnv names the env entry through which the UI finds its session's
// Window: the guard sends it to the library first, before any client
// request, and refuses it from clients.
const tagEnv = "PORTAL_SSHGUARD_SESSION"

// Window sizes past these are clamped: a terminal never has them, and a
// program renders in proportion to its window.
const (
	maxCols = 1000
	maxRows = 500
)

// filter passes a session's requests from in to the library's request loop
// (out), applying the per-session limits. Window changes stop here (see the
// package doc); the rest go through in order.
func (g *Guard) filter(tag string, w *Window, in <-chan *gossh.Request, out chan<- *gossh.Request) {
	out <- &gossh.Request{Type: "env", Payload: appendString(appendString(nil, tagEnv), tag)}
	var envCount, envBytes int
	var pty, started bool
	for req := range in {
		switch req.Type {
		case "env":
			key, rest, ok := parseString(req.Payload)
			value, _, ok2 := parseString(rest)
			if !ok || !ok2 || started || string(key) == tagEnv ||
				envCount >= g.lim.MaxEnvCount || envBytes+len(key)+len(value) > g.lim.MaxEnvBytes {
				_ = req.Reply(false, nil)
				continue
			}
			envCount++
			envBytes += len(key) + len(value)
		case "pty-req":
			if !pty && !started {
				if cols, rows, ok := parsePty(req.Payload); ok {
					pty = true
					w.set(cols, rows)
				}
			}
		case "window-change":
			cols, rows, ok := parseWindow(req.Payload)
			ok = ok && pty
			if ok {
				w.set(cols, rows)
			}
			_ = req.Reply(ok, nil)
			continue
		case "shell", "exec", "subsystem":
			started = true
		}
		out <- req
	}
}

// The payloads are parsed by hand rather than with ssh.Unmarshal: its
// reflection would grow the stack of every session's filter goroutine.

// parseString reads an SSH string (uint32 length, then bytes).
func parseString(p []byte) (s, rest []byte, ok bool) {
	if len(p) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(len(p)-4) < uint64(n) {
		return nil, nil, false
	}
	return p[4 : 4+n], p[4+n:], true
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// parsePty reads the window size from a pty-req payload (RFC 4254 6.2):
// string TERM, uint32 columns, uint32 rows, ...
func parsePty(p []byte) (cols, rows int, ok bool) {
	_, rest, ok := parseString(p)
	if !ok {
		return 0, 0, false
	}
	return parseWindow(rest)
}

// parseWindow reads uint32 columns and rows (RFC 4254 6.7).
func parseWindow(p []byte) (cols, rows int, ok bool) {
	if len(p) < 8 {
		return 0, 0, false
	}
	c, r := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
	return int(min(c, maxCols)), int(min(r, maxRows)), true
}

// Window is a session's terminal size as the client last reported it. It
// hands sizes to the program through a callback run by a timer, not by a
// goroutine of its own, so a session costs no goroutine more than the SSH
// library's design does.
type Window struct {
	mu         sync.Mutex
	cols, rows int
	seq, sent  uint64 // sizes set; the last one handed over
	busy       bool   // a handover is scheduled or running
	stopped    bool
	notify     func(cols, rows int)
	limit      *rate.Limiter
}

func newWindow(perSecond float64) *Window {
	return &Window{limit: rate.NewLimiter(rate.Limit(perSecond), 1)}
}

func (w *Window) set(cols, rows int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cols, w.rows = cols, rows
	w.seq++
	w.kickLocked()
}

// kickLocked schedules a handover of the latest size, no sooner than the
// resize rate allows, unless one is pending: that one will take it.
func (w *Window) kickLocked() {
	if w.busy || w.stopped || w.notify == nil || w.seq == w.sent {
		return
	}
	w.busy = true
	time.AfterFunc(w.limit.Reserve().Delay(), w.handover)
}

func (w *Window) handover() {
	w.mu.Lock()
	cols, rows, notify := w.cols, w.rows, w.notify
	w.sent = w.seq
	stopped := w.stopped
	w.mu.Unlock()
	if !stopped {
		notify(cols, rows) // may wait while the program is busy
	}
	w.mu.Lock()
	w.busy = false
	w.kickLocked() // sizes that came meanwhile
	w.mu.Unlock()
}

// Notify makes f receive the current size at once and every later one:
// sizes that come faster than the resize rate are merged, the latest
// always arrives, and calls never overlap. f runs on its own goroutine and
// may block.
func (w *Window) Notify(f func(cols, rows int)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notify = f
	w.sent = w.seq - 1 // the current size is news to f
	w.kickLocked()
}

// Stop ends the calls to Notify's f (a call under way finishes).
func (w *Window) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// WindowOf returns the Window of session s, or nil when s did not come
// through a Guard (then the library's Pty channel is the only source).
func WindowOf(s ssh.Session) *Window {
	cs, ok := s.Context().Value(connKey{}).(*connState)
	if !ok {
		return nil
	}
	for _, kv := range s.Environ() {
		if v, ok := strings.CutPrefix(kv, tagEnv+"="); ok {
			return cs.window(v)
		}
	}
	return nil
}
