package sshserver

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/tui/common"
	gossh "golang.org/x/crypto/ssh"
)

// boomModel panics where its key says: "u" in Update, "v" in View, "c" in a
// command.
type boomModel struct{ viewBoom bool }

func (m boomModel) Init() tea.Cmd { return nil }
func (m boomModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch k.String() {
		case "u":
			var a []int
			_ = a[3]
		case "v":
			m.viewBoom = true
		case "c":
			return m, tea.Batch(nil, func() tea.Msg { panic("boom in a command") })
		}
	}
	return m, nil
}
func (m boomModel) View() string {
	if m.viewBoom {
		panic("boom in View")
	}
	return "ready\n"
}

type allAdmins struct{}

func (allAdmins) IsAdmin(string) bool { return true }

// A panic anywhere in a session's program is logged through slog with its
// stack and ends that session alone, with an apology and exit status 1.
func TestProgramPanicEndsOnlyThatSession(t *testing.T) {
	var logs testkit.Buffer
	u := New(Config{Store: openStore(t), Logger: slog.New(slog.NewTextHandler(&logs, nil)), Admins: allAdmins{},
		Ops: func(*common.Common) tea.Model { return boomModel{} }})
	addr := serveSSH(t, u.Middleware()...)
	signer := testkit.NewSigner(t)

	// run opens a PTY session, waits for the first frame, presses k and
	// returns everything the session printed and its exit error.
	run := func(k string) (string, error) {
		t.Helper()
		c := testkit.Dial(t, addr, testkit.ClientConfig("t", signer, nil))
		defer c.Close()
		sess := testkit.Session(t, c)
		if err := sess.RequestPty("dumb", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		in, _ := sess.StdinPipe()
		out, _ := sess.StdoutPipe()
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		var seen bytes.Buffer
		buf := make([]byte, 4096)
		for !strings.Contains(seen.String(), "ready") {
			n, err := out.Read(buf)
			seen.Write(buf[:n])
			if err != nil {
				t.Fatalf("no first frame: %v: %q", err, seen.String())
			}
		}
		if k == "" {
			return seen.String(), nil
		}
		_, _ = io.WriteString(in, k)
		done := make(chan error, 1)
		go func() { _, _ = io.Copy(&seen, out); done <- sess.Wait() }()
		select {
		case err := <-done:
			return seen.String(), err
		case <-time.After(10 * time.Second):
			t.Fatalf("session still open after a panic on %q: %q", k, seen.String())
			return "", nil
		}
	}
	for _, k := range []string{"u", "v", "c"} {
		out, err := run(k)
		if ee, ok := err.(*gossh.ExitError); !ok || ee.ExitStatus() != 1 {
			t.Errorf("panic on %q: exit = %v, want status 1", k, err)
		}
		if !strings.Contains(out, "Something went wrong on our side") {
			t.Errorf("panic on %q: no apology in %q", k, out)
		}
	}
	l := logs.String()
	for _, where := range []string{"in=Update", "in=View", "in=command"} {
		if !strings.Contains(l, "session panic") || !strings.Contains(l, where) {
			t.Errorf("log lacks a session panic %s:\n%s", where, l)
		}
	}
	if !strings.Contains(l, "safe_test.go") {
		t.Error("panic logged without its stack")
	}
	// The server still serves.
	if _, err := run(""); err != nil {
		t.Fatalf("after the panics: %v", err)
	}
}
