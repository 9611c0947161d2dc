package portaltest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"github.com/portal/portal/internal/testkit"
	"golang.org/x/crypto/ssh"
)

// Portal is a running portal started by Start.
type Portal struct {
	App *app.App
	// DataDir is the portal's data directory; Start with WithDataDir on the
	// same directory to simulate a restart.
	DataDir string

	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
	stopped sync.Once
	logs    *tbWriter
}

// Option adjusts Start.
type Option func(*startConfig)

type startConfig struct {
	dataDir   string
	logger    *slog.Logger
	configure []func(*app.Config)
}

// WithDataDir runs the portal on dir instead of a fresh t.TempDir().
func WithDataDir(dir string) Option { return func(c *startConfig) { c.dataDir = dir } }

// WithLogger replaces the default logger, which writes to tb.Log (shown for
// failing tests and with -v). Benchmarks pass a discarding logger.
func WithLogger(l *slog.Logger) Option { return func(c *startConfig) { c.logger = l } }

// WithConfig lets the test change the app's configuration just before
// app.New; the data dir, addresses and logger are already set and may be
// overridden.
func WithConfig(f func(*app.Config)) Option {
	return func(c *startConfig) { c.configure = append(c.configure, f) }
}

// Start runs a portal in-process on free loopback ports with a temporary
// data directory and stops it when the test ends (or at Stop).
func Start(tb testing.TB, opts ...Option) *Portal {
	tb.Helper()
	var sc startConfig
	for _, o := range opts {
		o(&sc)
	}
	if sc.dataDir == "" {
		sc.dataDir = tb.TempDir()
	}
	p := &Portal{DataDir: sc.dataDir, done: make(chan struct{})}
	if sc.logger == nil {
		p.logs = &tbWriter{tb: tb}
		sc.logger = slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := app.Config{
		SSHAddr:  "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		DataDir:  sc.dataDir,
		Logger:   sc.logger,
	}
	for _, f := range sc.configure {
		f(&cfg)
	}
	a, err := app.New(cfg)
	if err != nil {
		tb.Fatalf("portaltest: start portal: %v", err)
	}
	p.App = a
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		p.runErr = a.Run(ctx)
	}()
	tb.Cleanup(func() {
		if err := p.Stop(); err != nil {
			tb.Errorf("portaltest: portal stopped with: %v", err)
		}
	})
	return p
}

// Stop shuts the portal down gracefully, waits for Run to return and
// returns its error. Later calls return the same error.
func (p *Portal) Stop() error {
	p.stopped.Do(func() {
		p.cancel()
		<-p.done
		if p.logs != nil {
			p.logs.close()
		}
	})
	return p.runErr
}

// SSHAddr is the portal's SSH address.
func (p *Portal) SSHAddr() string { return p.App.SSHAddr() }

// Connect opens an interactive session as signer (see Dial) and checks the
// portal's host key. The session closes when the test ends; it fails the
// test if the session cannot be opened.
func (p *Portal) Connect(tb testing.TB, signer ssh.Signer, opts ...SessionOption) *Session {
	tb.Helper()
	opts = append([]SessionOption{WithHostKeyFingerprint(p.App.HostKeyFingerprint())}, opts...)
	s, err := Dial(p.SSHAddr(), signer, opts...)
	if err != nil {
		tb.Fatalf("portaltest: connect to %s: %v", p.SSHAddr(), err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Exec runs command in a session without a PTY, as `ssh host command`
// does (an empty command asks for a shell without a PTY, as `ssh -T host`
// does), and returns what the server wrote (stdout and stderr, in arrival
// order) and the exit status (-1 if the server sent none). It fails the test
// if the server has not ended the session within DefaultTimeout.
func (p *Portal) Exec(tb testing.TB, signer ssh.Signer, command string) (output string, exit int) {
	tb.Helper()
	client, sess := p.session(tb, signer, "exec", command)
	defer client.Close()
	var out testkit.Buffer
	sess.Stdout, sess.Stderr = &out, &out
	done := make(chan error, 1)
	go func() {
		if command == "" {
			if err := sess.Shell(); err != nil {
				done <- err
				return
			}
			done <- sess.Wait()
			return
		}
		done <- sess.Run(command)
	}()
	timer := time.NewTimer(DefaultTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return out.String(), exitCode(err)
	case <-timer.C:
		client.Close()
		<-done
		tb.Fatalf("portaltest: exec %q: no answer within %s; output so far: %q", command, DefaultTimeout, out.String())
		return "", 0
	}
}

// session dials the portal as signer and opens a session for op (exec or
// run) of command, failing the test if either step fails.
func (p *Portal) session(tb testing.TB, signer ssh.Signer, op, command string) (*ssh.Client, *ssh.Session) {
	tb.Helper()
	client, err := ssh.Dial("tcp", p.SSHAddr(), &ssh.ClientConfig{
		User:            "test",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: p.checkHostKey,
		Timeout:         DefaultTimeout,
	})
	if err != nil {
		tb.Fatalf("portaltest: %s %q: %v", op, command, err)
	}
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		tb.Fatalf("portaltest: %s %q: %v", op, command, err)
	}
	return client, sess
}

// Run runs command as Exec does, with stdin as its input, and returns
// stdout and stderr apart (a script parses stdout; reasons go to stderr).
func (p *Portal) Run(tb testing.TB, signer ssh.Signer, command, stdin string) (stdout, stderr string, exit int) {
	tb.Helper()
	client, sess := p.session(tb, signer, "run", command)
	defer client.Close()
	var out, errOut testkit.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errOut, strings.NewReader(stdin)
	done := make(chan error, 1)
	go func() { done <- sess.Run(command) }()
	timer := time.NewTimer(DefaultTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return out.String(), errOut.String(), exitCode(err)
	case <-timer.C:
		client.Close()
		<-done
		tb.Fatalf("portaltest: run %q: no answer within %s; output so far: %q %q", command, DefaultTimeout, out.String(), errOut.String())
		return "", "", 0
	}
}

// checkHostKey accepts only the portal's own host key.
func (p *Portal) checkHostKey(_ string, _ net.Addr, key ssh.PublicKey) error {
	if got, want := ssh.FingerprintSHA256(key), p.App.HostKeyFingerprint(); got != want {
		return fmt.Errorf("host key %s, want %s", got, want)
	}
	return nil
}

// tbWriter sends log lines to tb.Log until closed: the server's goroutines
// may log after the test's last line, when tb.Log would panic.
type tbWriter struct {
	mu     sync.RWMutex
	tb     testing.TB
	closed bool
}

var _ io.Writer = (*tbWriter)(nil)

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.closed {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
