package sshguard

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"

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
	out <- &gossh.Request{Type: "env", Payload: gossh.Marshal(struct{ Key, Value string }{tagEnv, tag})}
	var envCount, envBytes int
	var pty, started bool
	for req := range in {
		switch req.Type {
		case "env":
			var kv struct{ Key, Value string }
			if started || gossh.Unmarshal(req.Payload, &kv) != nil || kv.Key == tagEnv ||
				envCount >= g.lim.MaxEnvCount || envBytes+len(kv.Key)+len(kv.Value) > g.lim.MaxEnvBytes {
				_ = req.Reply(false, nil)
				continue
			}
			envCount++
			envBytes += len(kv.Key) + len(kv.Value)
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

// parsePty reads the window size from a pty-req payload (RFC 4254 6.2):
// string TERM, uint32 columns, uint32 rows, ...
func parsePty(p []byte) (cols, rows int, ok bool) {
	if len(p) < 4 {
		return 0, 0, false
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(len(p)-4) < uint64(n) {
		return 0, 0, false
	}
	return parseWindow(p[4+n:])
}

// parseWindow reads uint32 columns and rows (RFC 4254 6.7).
func parseWindow(p []byte) (cols, rows int, ok bool) {
	if len(p) < 8 {
		return 0, 0, false
	}
	c, r := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
	return int(min(c, maxCols)), int(min(r, maxRows)), true
}

// Window is a session's terminal size as the client last reported it.
type Window struct {
	mu         sync.Mutex
	cols, rows int
	changed    chan struct{} // one slot: "there is a size newer than the last Next"
	limit      *rate.Limiter
}

func newWindow(perSecond float64) *Window {
	return &Window{changed: make(chan struct{}, 1), limit: rate.NewLimiter(rate.Limit(perSecond), 1)}
}

func (w *Window) set(cols, rows int) {
	w.mu.Lock()
	w.cols, w.rows = cols, rows
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Size is the latest size; Next then waits for a newer one.
func (w *Window) Size() (cols, rows int) {
	select {
	case <-w.changed:
	default:
	}
	return w.size()
}

func (w *Window) size() (cols, rows int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cols, w.rows
}

// Next waits for a size newer than the last one Size or Next returned, no sooner than the resize rate allows, and returns the latest.
// It fails only when ctx ends.
func (w *Window) Next(ctx context.Context) (cols, rows int, err error) {
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-w.changed:
	}
	if err := w.limit.Wait(ctx); err != nil {
		return 0, 0, err
	}
	// Changes made while waiting are in the size read; a change after
	// Size's drain signals again.
	cols, rows = w.Size()
	return cols, rows, nil
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
