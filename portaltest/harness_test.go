package portaltest

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/portal/portal/hostkeys"
)

// echoModel shows the last key Bubble Tea saw, the window size and the
// session's environment, so the harness can be checked without the portal.
type echoModel struct {
	env       []string
	last      string
	w, h      int
	keysSeen  int
	lastRunes int
}

func (m echoModel) Init() tea.Cmd { return nil }

func (m echoModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		m.last, m.lastRunes = msg.String(), len(msg.Runes)
		m.keysSeen++
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
	}
	return m, nil
}

func (m echoModel) View() string {
	return fmt.Sprintf("key<%s> keys:%d\nsize:%dx%d\nenv:%s\n", m.last, m.keysSeen, m.w, m.h, strings.Join(m.env, ","))
}

// startEcho serves echoModel over wish and returns its address.
func startEcho(t *testing.T) string {
	t.Helper()
	return serveWish(t,
		bm.Middleware(func(s ssh.Session) (tea.Model, []tea.ProgramOption) {
			env := slices.Clone(s.Environ())
			slices.Sort(env)
			return echoModel{env: env}, []tea.ProgramOption{tea.WithAltScreen()}
		}),
		activeterm.Middleware(),
	)
}

// serveWish serves mw over wish on a free loopback port, with a fresh host
// key and any public key let in, until the test ends; it returns the
// address.
func serveWish(tb testing.TB, mw ...wish.Middleware) string {
	tb.Helper()
	key, err := hostkeys.LoadOrCreate(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := wish.NewServer(
		wish.WithHostKeyPEM(key.PEM),
		wish.WithPublicKeyAuth(func(ssh.Context, ssh.PublicKey) bool { return true }),
		wish.WithMiddleware(mw...),
	)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func dialEcho(t *testing.T, opts ...SessionOption) *Session {
	t.Helper()
	s, err := Dial(startEcho(t), NewKey(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestTypeNamedKeys(t *testing.T) {
	t.Parallel()
	s := dialEcho(t)
	s.WaitFor(t, "size:80x24")
	for i, k := range []string{"enter", "tab", "shift+tab", "up", "down", "left", "right", "backspace",
		"delete", "home", "end", "pgup", "pgdown", "ctrl+c", "ctrl+u", "?", "é", "esc"} {
		s.Type(k)
		// Bubble Tea calls the space bar " " and the page keys by
		// these names; everything else by the name Type takes.
		s.WaitFor(t, fmt.Sprintf("key<%s> keys:%d", k, i+1))
	}
}

func TestTypeRunesOnePerWrite(t *testing.T) {
	t.Parallel()
	s := dialEcho(t)
	s.WaitFor(t, "size:80x24")
	s.Type("ab")
	// The server may read both writes at once and fold them into one key
	// message: all this test can insist on is that every rune arrives.
	s.WaitScreen(t, "both runes", func(scr string) bool {
		return strings.Contains(scr, "key<b> keys:2") || strings.Contains(scr, "key<ab> keys:1")
	})
}

func TestResizeAndEnv(t *testing.T) {
	t.Parallel()
	s := dialEcho(t, WithSize(100, 30), WithTerm("xterm"), WithEnv("NO_COLOR", "1"), WithEnv("LANG", "C.UTF-8"))
	s.WaitFor(t, "size:100x30")
	s.WaitFor(t, "LANG=C.UTF-8,NO_COLOR=1")
	s.Resize(60, 20)
	s.WaitFor(t, "size:60x20")
	if got := len(strings.Split(s.Screen(), "\n")); got != 20 {
		t.Errorf("Screen has %d lines after Resize(60, 20), want 20", got)
	}
	if s.BytesRead() == 0 {
		t.Error("BytesRead = 0 after frames were drawn")
	}
}

func TestWaitClosed(t *testing.T) {
	t.Parallel()
	p := Start(t)
	s := p.Connect(t, NewKey(t))
	s.WaitFor(t, "Email")
	s.Type("ctrl+c")
	if code := s.WaitClosed(t); code != 0 {
		t.Errorf("exit status %d after ctrl+c, want 0", code)
	}
	s.Close()
	s.Close() // idempotent
}

func TestKeyWrites(t *testing.T) {
	got := keyWrites([]string{"a\xffé", "enter", "ctrl+a", "ctrl+z", "ctrl+", "up!"})
	want := []string{"a", "\xff", "é", "\r", "\x01", "\x1a", "c", "t", "r", "l", "+", "u", "p", "!"}
	if !slices.Equal(got, want) {
		t.Errorf("keyWrites = %q, want %q", got, want)
	}
}
