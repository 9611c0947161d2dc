package sshserver

import (
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/hostkeys"
	"github.com/portal/portal/internal/testkit"
	gossh "golang.org/x/crypto/ssh"
)

// TestPanicEndsOnlyThatSession: a panic in one session's handler is logged
// with its stack and ends that session; the server keeps serving others.
func TestPanicEndsOnlyThatSession(t *testing.T) {
	var logs testkit.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	addr := serveSSH(t,
		func(ssh.Handler) ssh.Handler {
			return func(s ssh.Session) {
				if s.User() == "boom" {
					panic("boom in a session")
				}
				wish.Println(s, "hello "+s.User())
			}
		},
		recoverMiddleware(logger, noObserver{}),
	)

	signer := testkit.NewSigner(t)
	run := func(user string) (string, error) {
		t.Helper()
		c := testkit.Dial(t, addr, testkit.ClientConfig(user, signer, nil))
		defer c.Close()
		out, err := testkit.Session(t, c).CombinedOutput("")
		return string(out), err
	}

	out, err := run("boom")
	if ee, ok := err.(*gossh.ExitError); !ok || ee.ExitStatus() != 1 {
		t.Errorf("panicking session: err = %v, want exit status 1", err)
	}
	if !strings.Contains(out, "Something went wrong on our side") {
		t.Errorf("panicking session got %q, want the apology", out)
	}
	if l := logs.String(); !strings.Contains(l, "session panic") || !strings.Contains(l, "middleware_test.go") {
		t.Errorf("panic not logged with a stack:\n%s", l)
	}
	for _, user := range []string{"alice", "bob"} {
		if out, err := run(user); err != nil || !strings.Contains(out, "hello "+user) {
			t.Errorf("after the panic, session as %s = %q, %v; want it served", user, out, err)
		}
	}
}

// serveSSH serves mw (in wish's order) on a free loopback port for the test,
// with a host key in a temp dir, accepting any client key; it returns the
// address.
func serveSSH(t testing.TB, mw ...wish.Middleware) string {
	t.Helper()
	key, err := hostkeys.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := wish.NewServer(wish.WithHostKeyPEM(key.PEM),
		wish.WithPublicKeyAuth(func(ssh.Context, ssh.PublicKey) bool { return true }),
		wish.WithMiddleware(mw...))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
