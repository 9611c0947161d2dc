package portaltest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portal/portal/app"
	"golang.org/x/crypto/ssh"
)

// Hostile-client tests (issue 11). Each attack is bounded in count and
// time, runs on loopback, and is followed by two checks: a legitimate
// client still connects and sees its first frame about as soon as a control
// client did before the attack (see firstFrameAllowed), and the
// goroutines, descriptors and heap the attack cost are given back.

// usage is what an attack may cost the process.
type usage struct {
	goroutines, fds int
	heap            uint64
}

func usageNow() usage {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, _ := os.ReadDir("/proc/self/fd")
	return usage{goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapAlloc}
}

// snapshot records the usage before an attack, and a control client's time
// to its first frame; its recovered method then fails the test unless usage
// returns near it and a legitimate client is served about as fast.
func snapshot(t *testing.T, p *Portal) func() {
	t.Helper()
	base := usageNow()
	baseline := timeToFirstFrame(t, p, firstFrameCeiling)
	// The control's connection is gone before the attack (which may count
	// connections) starts.
	usageReturns(t, base, "after the control client")
	return func() {
		t.Helper()
		usageReturns(t, base, "after the attack")
		legitimateClientServed(t, p, baseline)
	}
}

// usageReturns fails the test unless usage comes back near base.
func usageReturns(t *testing.T, base usage, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u := usageNow()
		if u.goroutines <= base.goroutines+10 && u.fds <= base.fds+5 && u.heap <= base.heap+8<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines, %d descriptors, %d KiB heap; before: %d, %d, %d KiB",
				when, u.goroutines, u.fds, u.heap>>10, base.goroutines, base.fds, base.heap>>10)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A legitimate client after an attack must see its first frame within
// firstFrameAllowed of the control client's time before it. Not a fixed
// second: on a loaded machine (2 cores, -race, other packages' tests) the
// SSH handshake alone took 860 ms, so the bound scales with what this run
// measured. What it still proves is that the client is served normally,
// not queued behind the attackers: that costs a handshake timeout or more
// (seconds to 30 s), well past 10x a normal first frame and the ceiling.
const (
	firstFrameFactor  = 10
	firstFrameCeiling = 15 * time.Second
)

func firstFrameAllowed(baseline time.Duration) time.Duration {
	return min(max(time.Second, firstFrameFactor*baseline), firstFrameCeiling)
}

// timeToFirstFrame connects a new customer from an address no attack uses
// and returns how long it took to see the first frame (the register
// screen), failing the test past limit.
func timeToFirstFrame(t *testing.T, p *Portal, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	s, err := Dial(p.SSHAddr(), NewKey(t), WithLocalAddr("127.0.0.250"), WithHostKeyFingerprint(p.App.HostKeyFingerprint()))
	if err != nil {
		t.Fatalf("legitimate client: %v", err)
	}
	defer s.Close()
	s.WaitFor(t, "Email", max(limit-time.Since(start), time.Millisecond))
	return time.Since(start)
}

// legitimateClientServed checks that a new client sees its first frame
// within firstFrameAllowed(baseline).
func legitimateClientServed(t *testing.T, p *Portal, baseline time.Duration) {
	t.Helper()
	allowed := firstFrameAllowed(baseline)
	got := timeToFirstFrame(t, p, allowed)
	t.Logf("first frame: %v after the attack, %v before (allowed %v)", got.Round(time.Millisecond), baseline.Round(time.Millisecond), allowed)
}

// rawClient completes the SSH handshake from localIP and returns the client
// and its TCP connection.
func rawClient(t *testing.T, addr, localIP string) *ssh.Client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User: "attacker", Auth: []ssh.AuthMethod{ssh.PublicKeys(NewKey(t))},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // loopback, our own server
	})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Time{})
	c := ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { c.Close() })
	return c
}

func ptyReq(cols, rows uint32) []byte {
	return ssh.Marshal(struct {
		Term             string
		Cols, Rows, W, H uint32
		Modes            string
	}{"xterm-256color", cols, rows, 0, 0, ""})
}

func windowChange(cols, rows uint32) []byte {
	return ssh.Marshal(struct{ Cols, Rows, W, H uint32 }{cols, rows, 0, 0})
}

// waitClosed reports whether the server closes c within d.
func waitClosed(c *ssh.Client, d time.Duration) bool {
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		c.Close()
		return false
	}
}

// Attack 1: pty-req then window changes, and never a shell. The SSH
// library's request loop used to block on its window channel, so the
// connection's reader stalled and the handshake deadline never closed it.
func TestHostileWindowChangeBeforeShell(t *testing.T) {
	p := Start(t, WithConfig(func(c *app.Config) { c.HandshakeTimeout = time.Second }))
	recovered := snapshot(t, p)
	const conns = 10
	clients := make([]*ssh.Client, conns)
	for i := range clients {
		c := rawClient(t, p.SSHAddr(), "127.0.0.1")
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			t.Fatal(err)
		}
		go ssh.DiscardRequests(reqs)
		if ok, err := ch.SendRequest("pty-req", true, ptyReq(80, 24)); !ok || err != nil {
			t.Fatalf("pty-req: %v %v", ok, err)
		}
		// More than the 16 requests x/crypto queues per channel.
		for j := range 40 {
			if _, err := ch.SendRequest("window-change", false, windowChange(uint32(81+j), 24)); err != nil {
				t.Fatal(err)
			}
		}
		clients[i] = c
	}
	for i, c := range clients {
		if !waitClosed(c, 5*time.Second) {
			t.Fatalf("connection %d still open 5s after its 1s handshake time ran out", i)
		}
	}
	recovered()
}

// Attack 2: env requests without end before the shell. Each used to be
// kept, so memory grew with what the client sent.
func TestHostileEnvFlood(t *testing.T) {
	p := Start(t)
	recovered := snapshot(t, p)
	base := usageNow()
	c := rawClient(t, p.SSHAddr(), "127.0.0.1")
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	value := strings.Repeat("x", 4<<10)
	const sent = 4000 // 16 MiB
	for i := range sent {
		if _, err := ch.SendRequest("env", false, ssh.Marshal(struct{ Key, Value string }{fmt.Sprint("V", i), value})); err != nil {
			t.Fatal(err)
		}
	}
	// Replies come in order: once this one is in, the server has seen all.
	if ok, err := ch.SendRequest("env", true, ssh.Marshal(struct{ Key, Value string }{"LAST", value})); err != nil || ok {
		t.Fatalf("env past the limit: accepted=%v err=%v", ok, err)
	}
	if u := usageNow(); u.heap > base.heap+4<<20 {
		t.Errorf("heap grew %d KiB for %d MiB of env requests on one open session", (u.heap-base.heap)>>10, sent*len(value)>>20)
	}
	c.Close()
	recovered()
}

// Attack 3: slow request bodies and idle keep-alive connections on HTTP,
// which used to stay open as long as the client liked, and more
// connections than the cap.
func TestHostileHTTPSlowAndIdle(t *testing.T) {
	p := Start(t, WithConfig(func(c *app.Config) {
		c.HTTPLimits.ReadTimeout = 500 * time.Millisecond
		c.HTTPLimits.IdleTimeout = 500 * time.Millisecond
		c.HTTPLimits.MaxConns = 20
	}))
	recovered := snapshot(t, p)
	addr := p.App.HTTPAddr()
	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		return err == nil // EOF: closed by the server; a timeout is an error
	}
	// A body trickled slower than the read timeout, on the webhook.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	// A keep-alive connection left idle after one request.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	if !closedWithin(slow, 5*time.Second) {
		t.Error("slow body: connection still open 5s after a 0.5s read timeout")
	}
	if !closedWithin(idle, 5*time.Second) {
		t.Error("idle keep-alive: connection still open 5s after a 0.5s idle timeout")
	}

	// Past the connection cap a new connection is answered 503 at once.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	time.Sleep(0) // the accepts happen in the server's loop, in order
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = over.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	over.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection past the cap of 20: %v %v, want 503", resp, err)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	healthz := func() error {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for err := healthz(); err != nil; err = healthz() {
		if time.Now().After(deadline) {
			t.Fatalf("healthz after the held connections closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	recovered()
}

// Attack 3, SSH: connections past the per-address and total caps are
// closed before the SSH banner; other addresses are still served.
func TestHostileSSHConnectionCaps(t *testing.T) {
	p := Start(t, WithConfig(func(c *app.Config) {
		c.HandshakeTimeout = 5 * time.Second
		c.SSHLimits.MaxConnsPerAddr = 5
		c.SSHLimits.MaxConns = 8
	}))
	recovered := snapshot(t, p)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	dial := func(ip string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp", p.SSHAddr())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// bannerOrClose reads what the server sends first: its SSH version line,
	// or nothing before it closes the connection.
	banner := func(c net.Conn) string {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	// hold opens n connections from ip, each served within the caps.
	hold := func(ip string, n int) {
		t.Helper()
		for range n {
			c := dial(ip)
			held = append(held, c)
			if b := banner(c); !strings.HasPrefix(b, "SSH-2.0-") {
				t.Fatalf("connection within the cap got %q", b)
			}
		}
	}
	hold("127.0.0.2", 5)
	if b := banner(dial("127.0.0.2")); b != "" {
		t.Fatalf("6th connection from one address got %q, want it closed", b)
	}
	hold("127.0.0.3", 3)
	if b := banner(dial("127.0.0.4")); b != "" {
		t.Fatalf("9th connection in all got %q, want it closed", b)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	recovered()
}

// A restart: many clients reconnect at once. Handshakes past the cap wait
// their turn instead of failing, so every client gets its first frame.
func TestReconnectStormQueuesHandshakes(t *testing.T) {
	p := Start(t, WithConfig(func(c *app.Config) { c.SSHLimits.MaxHandshakes = 3 }))
	recovered := snapshot(t, p)
	const clients = 24
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			s, err := Dial(p.SSHAddr(), NewKey(t), WithLocalAddr(fmt.Sprintf("127.0.1.%d", 1+i%20)))
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			if err := s.waitText("Email", 30*time.Second); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	recovered()
}

// Attack 4: a storm of window changes on an open session. Each used to
// reach the program (about 120µs of CPU: update and view); now they are
// coalesced to ResizeRate a second. The check compares the process's CPU
// time for the storm with that for as many requests of a type the server
// refuses outright, so it is not a wall-clock assertion.
func TestHostileResizeStorm(t *testing.T) {
	p := Start(t)
	recovered := snapshot(t, p)
	s := p.Connect(t, NewKey(t))
	s.WaitFor(t, "Email")
	const n = 3000
	burst := func(reqType string, payload func(i int) []byte) time.Duration {
		t.Helper()
		start := cpuTime()
		for i := range n {
			if _, err := s.sess.SendRequest(reqType, false, payload(i)); err != nil {
				t.Fatal(err)
			}
		}
		// Replies come in order: once this one is in, the server has seen all.
		if _, err := s.sess.SendRequest("portal-sync@test", true, nil); err != nil {
			t.Fatal(err)
		}
		return cpuTime() - start
	}
	control := burst("portal-noop@test", func(int) []byte { return windowChange(80, 24) })
	storm := burst("window-change", func(i int) []byte { return windowChange(uint32(60+i%40), uint32(20+i%10)) })
	t.Logf("CPU for %d window changes %v, for %d refused requests %v", n, storm, n, control)
	if storm > 2*control+100*time.Millisecond {
		t.Errorf("%d window changes cost %v of CPU, %d refused requests %v: resizes are not coalesced", n, storm, n, control)
	}
	// The last size is the one the program ends up with.
	s.Resize(100, 30)
	s.WaitScreen(t, "the register screen at 100 columns", func(scr string) bool { return strings.Contains(scr, "Email") })
	s.Close()
	recovered()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Attack 5: guessing short links. Past the burst, lookups from one
// address are answered 429; another address is still answered.
func TestHostileLinkGuessing(t *testing.T) {
	p := Start(t)
	recovered := snapshot(t, p)
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	get := func(c *http.Client, path string) int {
		t.Helper()
		resp, err := c.Get("http://" + p.App.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	attacker := from("127.0.0.5")
	defer attacker.CloseIdleConnections()
	codes := map[int]int{}
	for i := range 60 {
		codes[get(attacker, fmt.Sprintf("/l/%026d", i))]++
	}
	if codes[http.StatusTooManyRequests] == 0 || codes[http.StatusNotFound] > 30 {
		t.Fatalf("60 guesses from one address: %v, want most answered 429", codes)
	}
	other := from("127.0.0.6")
	defer other.CloseIdleConnections()
	if code := get(other, "/l/abcdefghijklmnopqrstuvwxyz"); code != http.StatusNotFound {
		t.Fatalf("a lookup from another address: %d, want 404", code)
	}
	recovered()
}

// waitText polls s's screen for text until d has passed (for goroutines,
// which may not call t.Fatal).
func (s *Session) waitText(text string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for !strings.Contains(s.Screen(), text) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %q within %v; screen:\n%s", text, d, s.Screen())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// A bracketed paste that never ends: Bubble Tea v1 re-scans its growing
// paste buffer on every read, so CPU and memory grew with the square of the
// paste's length. The input reader now ends a paste past 64 KiB and drops
// the rest. The check compares the process's CPU time for 512 KiB of one
// paste with that for eight pastes just under the limit that end (a ratio,
// not wall time); both are read at the session's input limit.
func TestHostileEndlessPaste(t *testing.T) {
	p := Start(t)
	recovered := snapshot(t, p)
	s := p.Connect(t, NewKey(t))
	s.WaitFor(t, "Email")
	const total = 512 << 10
	const chunk = 4 << 10
	data := strings.Repeat("a", 64<<10-chunk)
	// roundTrip: tab to the code field and back, which the screen shows
	// only once everything sent before has been read.
	roundTrip := func() {
		t.Helper()
		s.Type("\t")
		s.WaitFor(t, "register instead", 30*time.Second)
		s.Type("\t")
		s.WaitFor(t, "have a code?", 30*time.Second)
	}
	write := func(b string) {
		t.Helper()
		if _, err := s.Write([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	start := cpuTime()
	for range total / (64 << 10) {
		write("\x1b[200~")
		for i := 0; i < len(data); i += chunk {
			write(data[i : i+chunk])
		}
		write("\x1b[201~")
	}
	roundTrip()
	control := cpuTime() - start

	start = cpuTime()
	write("\x1b[200~")
	for range total / chunk {
		write(data[:chunk])
	}
	// The client's own end marker, then keys: they are keys again.
	write("\x1b[201~")
	roundTrip()
	endless := cpuTime() - start
	t.Logf("CPU for %d KiB: in one endless paste %v, in 60 KiB pastes %v", total>>10, endless, control)
	// Measured: 0.6x with the bound, 2.6x without it.
	if endless > control*3/2+100*time.Millisecond {
		t.Errorf("a %d KiB paste cost %v of CPU, as much in 60 KiB pastes %v: the paste is not bounded", total>>10, endless, control)
	}
	s.Close()
	recovered()
}
