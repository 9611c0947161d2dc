package sshserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// recorder notes every key and portal message it gets. "b" answers with a
// command whose message must arrive before the next key (as leaving a
// screen does); ctrl+d quits.
type recorder struct {
	mu   *sync.Mutex
	got  *[]string
	text bool
}

type recordedMsg struct{ s string }

func (r recorder) Init() tea.Cmd   { return nil }
func (r recorder) View() string    { return "" }
func (r recorder) TakesText() bool { return r.text }
func (r recorder) note(s string) {
	r.mu.Lock()
	*r.got = append(*r.got, s)
	r.mu.Unlock()
}

func (r recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if msg.Type == tea.KeyCtrlD {
			return r, tea.Quit
		}
		s := msg.String()
		if msg.Paste {
			s = "paste:" + string(msg.Runes)
		}
		r.note(s)
		if s == "b" {
			return r, func() tea.Msg { return recordedMsg{"back"} }
		}
	case recordedMsg:
		r.note(msg.s)
	}
	return r, nil
}

// runRecorder runs a program over a pipe, through the session's input
// reader and safeModel, and returns a function writing to it and one
// reading what the model got so far.
func runRecorder(t *testing.T, text bool) (write func(string), got func() []string) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var keys []string
	m := safeModel{m: recorder{mu: &mu, got: &keys, text: text}, log: slog.New(slog.DiscardHandler), keys: &keyQueue{}}
	p := tea.NewProgram(m, tea.WithInput(newInputReader(ctx, pr, 1<<20)), tea.WithOutput(io.Discard),
		tea.WithoutRenderer(), tea.WithoutSignalHandler(), tea.WithContext(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _, _ = p.Run() }()
	t.Cleanup(func() {
		_, _ = pw.Write([]byte{4})
		cancel()
		_ = pw.Close()
		<-done
	})
	write = func(s string) {
		if _, err := pw.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
	return write, got
}

// waitKeys polls until the model got want, failing with what it got.
func waitKeys(t *testing.T, got func() []string, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := got()
		if strings.Join(g, "|") == strings.Join(want, "|") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("model got %q, want %q", g, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Keys read together ("jjj", "23", "?4") reach the model one by one, in
// order, and a key's own message comes before the next key, as when typed
// apart.
func TestKeysTypedTogetherActOneByOne(t *testing.T) {
	write, got := runRecorder(t, false)
	write("jjj")
	waitKeys(t, got, []string{"j", "j", "j"})
	write("?4")
	waitKeys(t, got, []string{"j", "j", "j", "?", "4"})
	write("bjk\rq")
	waitKeys(t, got, []string{"j", "j", "j", "?", "4", "b", "back", "j", "k", "enter", "q"})
}

// A bracketed paste stays one paste, and runes typed into a text field
// arrive together as they were read.
func TestPasteAndTextStayWhole(t *testing.T) {
	write, got := runRecorder(t, false)
	write("\x1b[200~hello world\x1b[201~")
	waitKeys(t, got, []string{"paste:hello world"})

	write2, got2 := runRecorder(t, true)
	write2("ada@example.com")
	waitKeys(t, got2, []string{"ada@example.com"})
}

// A plain paste whose length is a multiple of Bubble Tea's 256-byte read
// shows at once, not at the next key.
func TestPlainPasteOfMultipleOf256BytesArrivesWhole(t *testing.T) {
	for _, n := range []int{256, 512, 100 << 10} {
		write, got := runRecorder(t, true)
		write(strings.Repeat("a", n))
		deadline := time.Now().Add(15 * time.Second)
		for {
			total := 0
			for _, k := range got() {
				total += len(k)
			}
			if total == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d-byte paste: the model got %d bytes", n, total)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// Chunks handed to Bubble Tea never tear a rune or an escape sequence.
func TestChunkLenKeepsRunesAndSequencesWhole(t *testing.T) {
	b := append(bytes.Repeat([]byte("a"), 250), "\x1b[A"+strings.Repeat("é", 10)...)
	if n := chunkLen(b, readChunk); n != 250 {
		t.Errorf("cut at %d, want 250 (before the arrow key)", n)
	}
	c := append(bytes.Repeat([]byte("a"), 254), strings.Repeat("é", 10)...)
	if n := chunkLen(c, readChunk); n != 254 {
		t.Errorf("cut at %d, want 254 (before the two-byte é)", n)
	}
}

// The terminal's answers to the start-up query never reach the model as
// keys, keys around them are kept, and a light background is reported.
func TestTerminalRepliesAreTakenOutKeysKept(t *testing.T) {
	var dark []bool
	tr := &termReplies{until: time.Now().Add(time.Minute), background: func(d bool) { dark = append(dark, d) }}
	now := time.Now()
	out := tr.filter([]byte("j\x1b]11;rgb:ffff/ffff/ff"), now)
	out = append(out, tr.filter([]byte("ff\x1b\\k\x1b[?62;22c2"), now)...)
	if string(out) != "jk2" {
		t.Errorf("keys %q, want %q", out, "jk2")
	}
	if len(dark) != 1 || dark[0] {
		t.Errorf("background reports %v, want one light", dark)
	}
	if got := tr.filter([]byte("\x1b]11;x"), now); string(got) != "\x1b]11;x" {
		t.Errorf("after DA1 the input passes untouched; got %q", got)
	}
}
