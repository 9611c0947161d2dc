package portaltest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"golang.org/x/crypto/ssh"
)

// DefaultTimeout is how long WaitFor, WaitGone and WaitClosed wait when no
// timeout is given. It is generous because tests run with -race on small,
// shared machines; a passing wait returns as soon as the screen matches.
const DefaultTimeout = 15 * time.Second

// Session is an interactive SSH session with a PTY, rendered into a terminal
// emulator. Its methods are safe for concurrent use, but the ones taking a
// testing.TB fail the test with tb.Fatalf and so belong on the test's
// goroutine.
type Session struct {
	client  *ssh.Client
	sess    *ssh.Session
	stdin   io.WriteCloser
	hostKey ssh.PublicKey

	// mu guards the emulator, which the output pumps write and the Wait
	// methods read, and the fields below it.
	mu  sync.Mutex
	emu *vt.Emulator
	// changed is closed and replaced whenever the screen may have changed,
	// so waiters wake at once instead of polling on a timer.
	changed chan struct{}
	// ended is set when the server closed the session's output.
	ended    bool
	inputErr error // first failed write by Type

	exited   chan struct{} // closed when the session has ended
	exitCode int           // valid once exited is closed

	inMu      sync.Mutex // serialises writes to stdin
	bytesRead atomic.Int64
	pumps     sync.WaitGroup // stdout and stderr into the emulator
	helpers   sync.WaitGroup // emulator replies to stdin; the exit waiter
	closeOnce sync.Once
}

// SessionOption adjusts Dial and Connect.
type SessionOption func(*sessionConfig)

type sessionConfig struct {
	user          string
	term          string
	width, height int
	env           [][2]string
	auth          []ssh.AuthMethod
	localAddr     net.Addr
	hostKeyFP     string
	timeout       time.Duration
}

// WithTerm sets the TERM sent with the PTY request (default xterm-256color).
func WithTerm(term string) SessionOption { return func(c *sessionConfig) { c.term = term } }

// WithSize sets the initial terminal size (default 80×24).
func WithSize(width, height int) SessionOption {
	return func(c *sessionConfig) { c.width, c.height = width, height }
}

// WithEnv sends an environment variable (an SSH "env" request) before the
// shell starts, as `ssh -o SetEnv=NAME=value` does; e.g. WithEnv("NO_COLOR", "1").
func WithEnv(name, value string) SessionOption {
	return func(c *sessionConfig) { c.env = append(c.env, [2]string{name, value}) }
}

// WithUser sets the SSH user name (default "test").
func WithUser(name string) SessionOption { return func(c *sessionConfig) { c.user = name } }

// WithAuth replaces the client's authentication methods; the signer given
// to Dial or Connect is then ignored (it may be nil). Auth-bypass tests use
// it to offer keys the client cannot sign with.
func WithAuth(methods ...ssh.AuthMethod) SessionOption {
	return func(c *sessionConfig) { c.auth = methods }
}

// WithLocalAddr sets the client's source address, e.g. 127.0.0.2, to spread
// connections over loopback addresses past a per-IP rate limit.
func WithLocalAddr(ip string) SessionOption {
	return func(c *sessionConfig) { c.localAddr = &net.TCPAddr{IP: net.ParseIP(ip)} }
}

// WithHostKeyFingerprint makes the handshake fail unless the server's host
// key has this SHA256 fingerprint. Connect sets it to the portal's key.
func WithHostKeyFingerprint(fp string) SessionOption {
	return func(c *sessionConfig) { c.hostKeyFP = fp }
}

// Dial opens an interactive session to addr: TCP, SSH handshake with
// public-key auth as signer, a PTY request, any env requests, and a shell.
// The caller must Close the session.
func Dial(addr string, signer ssh.Signer, opts ...SessionOption) (*Session, error) {
	c := sessionConfig{user: "test", term: "xterm-256color", width: 80, height: 24, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&c)
	}
	auth := c.auth
	if auth == nil {
		if signer == nil {
			return nil, errors.New("portaltest: Dial needs a signer or WithAuth")
		}
		auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	}
	s := &Session{emu: vt.NewEmulator(c.width, c.height), changed: make(chan struct{}), exited: make(chan struct{})}
	cfg := &ssh.ClientConfig{
		User: c.user,
		Auth: auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			s.hostKey = key
			if fp := ssh.FingerprintSHA256(key); c.hostKeyFP != "" && fp != c.hostKeyFP {
				return fmt.Errorf("host key %s, want %s", fp, c.hostKeyFP)
			}
			return nil
		},
		Timeout: c.timeout,
	}
	d := net.Dialer{LocalAddr: c.localAddr, Timeout: c.timeout}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	// Bound the handshake: a server that accepts and never answers must
	// not hang the test.
	_ = conn.SetDeadline(time.Now().Add(c.timeout))
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	s.client = ssh.NewClient(cc, chans, reqs)
	if err := s.start(c); err != nil {
		s.client.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) start(c sessionConfig) error {
	var err error
	if s.sess, err = s.client.NewSession(); err != nil {
		return err
	}
	for _, kv := range c.env {
		if err := s.sess.Setenv(kv[0], kv[1]); err != nil {
			return fmt.Errorf("setenv %s: %w", kv[0], err)
		}
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := s.sess.RequestPty(c.term, c.height, c.width, modes); err != nil {
		return fmt.Errorf("pty request: %w", err)
	}
	if s.stdin, err = s.sess.StdinPipe(); err != nil {
		return err
	}
	stdout, err := s.sess.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := s.sess.StderrPipe()
	if err != nil {
		return err
	}
	if err := s.sess.Shell(); err != nil {
		return fmt.Errorf("shell: %w", err)
	}
	// A terminal shows stderr too: the server's goodbye messages go there.
	s.pumps.Add(2)
	go s.pump(stdout)
	go s.pump(stderr)
	go func() {
		s.pumps.Wait()
		s.mu.Lock()
		s.ended = true
		s.notifyLocked()
		s.mu.Unlock()
	}()

	s.helpers.Add(1)
	go func() {
		defer s.helpers.Done()
		s.exitCode = exitCode(s.sess.Wait())
		close(s.exited)
	}()

	// The emulator writes its answers to terminal queries into a pipe while
	// a pump holds mu. The reader hands them to a writer through a queue so
	// a slow stdin never stalls the pump (and so the screen).
	replies := make(chan []byte, 256)
	s.helpers.Add(2)
	go func() {
		defer s.helpers.Done()
		defer close(replies)
		buf := make([]byte, 4096)
		for {
			n, err := s.emu.Read(buf)
			if n > 0 {
				replies <- bytes.Clone(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer s.helpers.Done()
		for b := range replies {
			_, _ = s.Write(b)
		}
	}()
	return nil
}

func (s *Session) pump(r io.Reader) {
	defer s.pumps.Done()
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.bytesRead.Add(int64(n))
			s.mu.Lock()
			_, _ = s.emu.Write(buf[:n])
			s.notifyLocked()
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (s *Session) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Write sends raw bytes to the session's stdin in one write. Tests use it
// for pastes and garbage; Type is the way to press keys.
func (s *Session) Write(p []byte) (int, error) {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	return s.stdin.Write(p)
}

// Type presses keys, one SSH write per key. A named key ("enter", "tab",
// "shift+tab", "esc", "backspace", "delete", "space", "up", "down", "left",
// "right", "home", "end", "pgup", "pgdown", "f1"…"f4", "ctrl+a"…"ctrl+z") is
// sent as its xterm sequence; any other string is typed rune by rune, and
// bytes that are not valid UTF-8 are sent one by one as they are. The first
// write error is kept and reported by the next failing wait.
func (s *Session) Type(keys ...string) {
	for _, k := range keyWrites(keys) {
		if _, err := s.Write([]byte(k)); err != nil {
			s.mu.Lock()
			if s.inputErr == nil {
				s.inputErr = fmt.Errorf("typing %q: %w", k, err)
			}
			s.mu.Unlock()
			return
		}
	}
}

// SignUp registers the session's key with email from the register screen
// and starts the plan numbered pick in the picker ("1" Free … "5" XXL),
// returning once the dashboard shows.
func (s *Session) SignUp(tb testing.TB, email, pick string) {
	tb.Helper()
	s.WaitFor(tb, "Email")
	s.Type(email, "enter")
	s.WaitFor(tb, "choose a plan")
	s.Type(pick)
	s.WaitFor(tb, "› "+pick)
	s.Type("enter")
	s.WaitFor(tb, "Your account\n") // the dashboard's title line; the picker's reads "Your account is ready…"
}

// Screen returns the emulator's visible text, one line per row, each line
// trimmed of trailing spaces.
func (s *Session) Screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screenLocked()
}

func (s *Session) screenLocked() string {
	lines := strings.Split(s.emu.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \r")
	}
	return strings.Join(lines, "\n")
}

// WaitFor waits until the screen contains text, and fails the test with the
// whole screen if it does not within the timeout (default DefaultTimeout)
// or the server ends the session first.
func (s *Session) WaitFor(tb testing.TB, text string, timeout ...time.Duration) {
	tb.Helper()
	s.wait(tb, fmt.Sprintf("%q to appear", text), func(scr string) bool { return strings.Contains(scr, text) }, timeout)
}

// WaitGone waits until the screen no longer contains text; it fails like
// WaitFor.
func (s *Session) WaitGone(tb testing.TB, text string, timeout ...time.Duration) {
	tb.Helper()
	s.wait(tb, fmt.Sprintf("%q to disappear", text), func(scr string) bool { return !strings.Contains(scr, text) }, timeout)
}

// WaitScreen waits until ok reports true for the screen, and fails like
// WaitFor, describing the wait with what.
func (s *Session) WaitScreen(tb testing.TB, what string, ok func(screen string) bool, timeout ...time.Duration) {
	tb.Helper()
	s.wait(tb, what, ok, timeout)
}

func (s *Session) wait(tb testing.TB, what string, ok func(string) bool, timeout []time.Duration) {
	tb.Helper()
	d := timeoutOr(timeout)
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		scr, changed, ended, inErr := s.screenLocked(), s.changed, s.ended, s.inputErr
		s.mu.Unlock()
		if ok(scr) {
			return
		}
		why := ""
		if ended {
			why = "the server ended the session"
		}
		if inErr != nil {
			why += fmt.Sprintf(" (input failed: %v)", inErr)
		}
		if ended {
			tb.Fatalf("waiting for %s: %s; screen:\n%s", what, why, frame(scr))
		}
		select {
		case <-changed:
		case <-timer.C:
			tb.Fatalf("waiting for %s: timed out after %s%s; screen:\n%s", what, d, why, frame(scr))
		}
	}
}

// WaitClosed waits until the server ends the session and returns its exit
// status (-1 if the server sent none); it fails the test on timeout.
func (s *Session) WaitClosed(tb testing.TB, timeout ...time.Duration) int {
	tb.Helper()
	d := timeoutOr(timeout)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-s.exited:
		return s.exitCode
	case <-timer.C:
		tb.Fatalf("session still open after %s; screen:\n%s", d, frame(s.Screen()))
		return 0
	}
}

// timeoutOr is the optional timeout a wait was given, else DefaultTimeout.
func timeoutOr(timeout []time.Duration) time.Duration {
	if len(timeout) > 0 {
		return timeout[0]
	}
	return DefaultTimeout
}

// exitCode maps the result of ssh.Session.Wait to an exit status, -1 when
// the server sent none.
func exitCode(err error) int {
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitStatus()
	default:
		return -1
	}
}

// frame draws a border around a screen dump so blank lines and trailing
// text are visible in failure messages.
func frame(scr string) string {
	var b strings.Builder
	b.WriteString("┌────────\n")
	for l := range strings.SplitSeq(scr, "\n") {
		b.WriteString("│")
		b.WriteString(l)
		b.WriteString("\n")
	}
	b.WriteString("└────────")
	return b.String()
}

// Resize changes the terminal size, as a user resizing their window does:
// the emulator first, then a window-change request to the server.
func (s *Session) Resize(width, height int) {
	s.mu.Lock()
	s.emu.Resize(width, height)
	s.notifyLocked()
	s.mu.Unlock()
	_ = s.sess.WindowChange(height, width)
}

// BytesRead returns how many bytes the server has sent on the session's
// stdout and stderr so far.
func (s *Session) BytesRead() int64 { return s.bytesRead.Load() }

// HostKey returns the host key the server presented.
func (s *Session) HostKey() ssh.PublicKey { return s.hostKey }

// Close ends the session and the connection and waits for the session's
// goroutines to finish. It is safe to call more than once.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		_ = s.sess.Close()
		_ = s.client.Close()
		s.pumps.Wait()
		// No pump writes to the emulator any more: closing its reply pipe
		// ends the reply reader, and with it the writer.
		if c, ok := s.emu.InputPipe().(io.Closer); ok {
			_ = c.Close()
		}
		s.helpers.Wait()
	})
}
