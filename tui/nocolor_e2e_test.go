package tui_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
	"golang.org/x/crypto/ssh"
)

// A dumb terminal with NO_COLOR: the whole journey works, the focus
// marker carries the selection without colour, and not one colour
// sequence (nor OSC: hyperlinks, colour queries) is sent.
func TestDumbTerminalNoColor(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)

	// What the customer sees, through a terminal emulator.
	key := portaltest.NewKey(t)
	s := p.Connect(t, key, wide, portaltest.WithTerm("dumb"), portaltest.WithEnv("NO_COLOR", "1"))
	s.SignUp(t, "hal@example.com", "3")
	s.WaitFor(t, "30 days left")

	// What the server sends, byte for byte.
	r := dialRaw(t, p, portaltest.NewKey(t), "dumb", "NO_COLOR=1")
	r.waitFor(t, "Email")
	r.typeKeys("ida@example.com", "\r")
	r.waitFor(t, "choose a plan")
	r.typeKeys("3")
	r.waitFor(t, "› 3")
	r.typeKeys("\r")
	r.waitFor(t, "30 days left")
	out := r.bytes()
	if m := colourSGR.Find(out); m != nil {
		t.Errorf("colour sequence %q sent to a dumb NO_COLOR terminal", m)
	}
	if i := bytes.Index(out, []byte("\x1b]")); i >= 0 {
		t.Errorf("OSC sequence %q sent to a dumb terminal", out[i:min(i+24, len(out))])
	}
}

// colourSGR matches an SGR sequence that sets a colour: 30–39, 40–49,
// 90–97, 100–107 (38 and 48 start the 256-colour and RGB forms).
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9;:]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:[;:][0-9;:]*)?m`)

// rawSession is an SSH session whose output is kept as sent, for checks the
// emulated screen cannot make (which escape sequences were used).
type rawSession struct {
	in      io.Writer
	mu      sync.Mutex
	out     bytes.Buffer
	changed chan struct{}
}

func dialRaw(t *testing.T, p *portaltest.Portal, key ssh.Signer, term string, env ...string) *rawSession {
	t.Helper()
	want := p.App.HostKeyFingerprint()
	client, err := ssh.Dial("tcp", p.SSHAddr(), &ssh.ClientConfig{
		User: "test", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, Timeout: portaltest.DefaultTimeout,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			if ssh.FingerprintSHA256(k) != want {
				return errors.New("wrong host key")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if err := sess.Setenv(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.RequestPty(term, 48, 160, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	r := &rawSession{changed: make(chan struct{})}
	if r.in, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := stdout.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

// typeKeys sends each rune of each argument in its own write, as a
// terminal does for typed keys.
func (r *rawSession) typeKeys(keys ...string) {
	for _, k := range keys {
		for _, c := range k {
			_, _ = io.WriteString(r.in, string(c))
		}
	}
}

func (r *rawSession) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.out.Bytes())
}

// waitFor waits until text has been sent (in one piece).
func (r *rawSession) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.NewTimer(portaltest.DefaultTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		found, changed := bytes.Contains(r.out.Bytes(), []byte(text)), r.changed
		r.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%q never sent; output:\n%q", text, r.bytes())
		}
	}
}
