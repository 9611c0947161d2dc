package sshserver

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// The terminal's background colour decides the adaptive colours. wish's
// MakeRenderer asks for it by reading the session's input itself for up to
// a second before the program starts: keys typed meanwhile were swallowed
// with the replies, and when no reply came its reader stayed blocked on the
// session and took the next key too. Here the question is written once and
// the answers are picked out of the program's own input stream (see
// termReplies), so no key is lost and the first frame does not wait.

// termQuery asks for the background colour (OSC 11) and, as the sentinel
// every terminal answers, the primary device attributes (DA1).
const termQuery = ansi.RequestBackgroundColor + ansi.RequestPrimaryDeviceAttributes

// replyWindow is how long after connecting replies are looked for; keys
// never wait on it (see termReplies.filter).
const replyWindow = 5 * time.Second

// newSessionRenderer is wish's MakeRenderer without the blocking query: a
// dark background is assumed until the terminal says otherwise. It reports
// whether the query should be sent (not to a dumb terminal).
func newSessionRenderer(s ssh.Session) (*lipgloss.Renderer, bool) {
	pty, _, ok := s.Pty()
	if !ok || pty.Term == "" || pty.Term == "dumb" {
		return lipgloss.NewRenderer(s, termenv.WithProfile(termenv.Ascii)), false
	}
	env := sessionEnviron(append(s.Environ(), "TERM="+pty.Term))
	r := lipgloss.NewRenderer(s, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
	r.SetHasDarkBackground(true)
	return r, true
}

// sessionEnviron is the session's environment for termenv.
type sessionEnviron []string

func (e sessionEnviron) Environ() []string { return e }

func (e sessionEnviron) Getenv(k string) string {
	for _, kv := range e {
		if name, v, ok := strings.Cut(kv, "="); ok && name == k {
			return v
		}
	}
	return ""
}

// termReplies takes the terminal's answers to termQuery out of the input
// before Bubble Tea sees them (it would read an OSC reply as alt+] and
// runes). It looks for them until the DA1 answer or replyWindow has passed.
type termReplies struct {
	until time.Time
	done  bool
	held  []byte // the start of a reply split across reads
	// background receives whether the reported background is dark.
	background func(dark bool)
}

// filter returns b without the replies in it.
func (t *termReplies) filter(b []byte, now time.Time) []byte {
	if t == nil || t.done {
		return b
	}
	if now.After(t.until) {
		t.done = true
		return append(t.held, b...)
	}
	if len(t.held) > 0 {
		b = append(t.held, b...)
		t.held = nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != 0x1b || t.done {
			out = append(out, b[i])
			i++
			continue
		}
		// A lone ESC at the end is the esc key: replies come whole or at
		// least past their first bytes.
		n, complete := t.reply(b[i:])
		switch {
		case n > 0:
			i += n
		case !complete:
			// Possibly a reply cut by the read: wait for the rest.
			t.held = append([]byte(nil), b[i:]...)
			return out
		default:
			out = append(out, b[i])
			i++
		}
	}
	return out
}

// reply reports the length of the reply that b starts with (0 if none) and
// whether b holds enough to tell.
func (t *termReplies) reply(b []byte) (n int, complete bool) {
	const osc11 = "\x1b]11;"
	switch {
	case bytes.HasPrefix(b, []byte(osc11)):
		body := b[len(osc11):]
		end, termLen := bytes.IndexByte(body, '\a'), 1
		if st := bytes.Index(body, []byte("\x1b\\")); st >= 0 && (end < 0 || st < end) {
			end, termLen = st, 2
		}
		if end < 0 {
			return 0, len(body) > 64
		}
		if dark, ok := darkColor(string(body[:end])); ok && t.background != nil {
			t.background(dark)
		}
		return len(osc11) + end + termLen, true
	case len(b) >= 2 && len(b) < len(osc11) && bytes.HasPrefix([]byte(osc11), b):
		return 0, false
	case bytes.HasPrefix(b, []byte("\x1b[?")):
		for i := 3; i < len(b); i++ {
			switch c := b[i]; {
			case c >= '0' && c <= '9' || c == ';':
			case c == 'c':
				t.done = true
				return i + 1, true
			default:
				return 0, true
			}
		}
		return 0, len(b) > 64
	case len(b) == 2 && bytes.HasPrefix([]byte("\x1b[?"), b):
		return 0, false
	}
	return 0, true
}

// darkColor reads an OSC 11 colour, "rgb:RRRR/GGGG/BBBB" (1 to 4 hex digits
// a channel), and reports whether its lightness is under one half.
func darkColor(spec string) (dark, ok bool) {
	spec, found := strings.CutPrefix(spec, "rgb:")
	parts := strings.Split(spec, "/")
	if !found || len(parts) != 3 {
		return false, false
	}
	var lo, hi float64 = 1, 0
	for _, p := range parts {
		if len(p) == 0 || len(p) > 4 {
			return false, false
		}
		v, err := strconv.ParseUint(p, 16, 16)
		if err != nil {
			return false, false
		}
		f := float64(v) / float64(uint64(1)<<(4*len(p))-1)
		lo, hi = min(lo, f), max(hi, f)
	}
	return (lo+hi)/2 < 0.5, true
}
