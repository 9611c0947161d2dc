package portaltest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/app"
	"golang.org/x/crypto/ssh"
)

// The benchmark's clients run in a child process (this test binary,
// re-executed with benchClientEnv set) so that the memory measured in this
// process is the server's alone.
const (
	benchClientEnv = "PORTALTEST_BENCH_CLIENT" // the SSH address to load
	benchNEnv      = "PORTALTEST_BENCH_SESSIONS"
	benchConcEnv   = "PORTALTEST_BENCH_CONCURRENCY"
	benchMarker    = "Email" // text of the register screen's first frame
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(benchClientEnv); addr != "" {
		os.Exit(benchClient(addr))
	}
	os.Exit(m.Run())
}

// BenchmarkSessions measures, against the real portal:
//
//   - sessions/s: sessions opened per second up to their first frame (TCP,
//     SSH handshake with a fresh ed25519 key each, PTY, shell, terminal
//     queries answered, register screen drawn), with 32 in flight;
//   - KiB/session: the server's Go heap plus goroutine stacks per idle
//     session with 1,000 open at once, after a GC;
//   - rssKiB/session: the same from the process's resident set size.
//
// Run it with
//
//	go test ./portaltest -run '^$' -bench Sessions -benchtime 1x -count 5
//
// PORTALTEST_BENCH_SESSIONS and PORTALTEST_BENCH_CONCURRENCY change the
// 1,000 sessions and 32 in flight. The per-IP rate limit is raised for the
// run; everything else is the default configuration.
func BenchmarkSessions(b *testing.B) {
	raiseFileLimit(b)
	n := envInt(benchNEnv, 1000)
	conc := envInt(benchConcEnv, 32)
	p := Start(b, WithLogger(slog.New(slog.DiscardHandler)), WithConfig(func(c *app.Config) {
		c.RateLimit, c.RateBurst = 1e9, 1<<30
	}))
	// Warm up: first use fills package-level caches (colour
	// profiles, width tables) that are not per session.
	benchSessions(b, p.SSHAddr(), p.App.UI().Registry().Len, n, conc)
}

// benchSessions runs the rounds of a sessions benchmark against the SSH
// server at addr, whose open programs live counts, and reports the metrics.
func benchSessions(b *testing.B, addr string, live func() int, n, conc int) {
	// Warm up: first use fills package-level caches (colour
	// profiles, width tables) that are not per session.
	benchRound(b, addr, live, min(n, 50), conc)
	b.ReportMetric(0, "ns/op") // the time per op is the whole run: meaningless
	var rate, heapKiB, rssKiB float64
	for range b.N {
		r, h, rss := benchRound(b, addr, live, n, conc)
		rate += r
		heapKiB += h
		rssKiB += rss
	}
	b.ReportMetric(rate/float64(b.N), "sessions/s")
	b.ReportMetric(heapKiB/float64(b.N), "KiB/session")
	b.ReportMetric(rssKiB/float64(b.N), "rssKiB/session")
}

// benchRound opens n sessions from a child process, measures, and closes
// them again.
func benchRound(b *testing.B, addr string, live func() int, n, conc int) (rate, heapKiB, rssKiB float64) {
	b.Helper()
	waitSessions(b, func() bool { return live() == 0 })
	heap0, rss0 := memNow()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchClientEnv+"="+addr,
		benchNEnv+"="+strconv.Itoa(n), benchConcEnv+"="+strconv.Itoa(conc))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close() // the child closes its sessions and exits
		if err := cmd.Wait(); err != nil {
			b.Errorf("bench client: %v", err)
		}
		waitSessions(b, func() bool { return live() == 0 })
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("bench client: %v", err)
	}
	var opened int
	var elapsed time.Duration
	if _, err := fmt.Sscanf(line, "opened %d %d", &opened, &elapsed); err != nil || opened != n {
		b.Fatalf("bench client said %q", line)
	}
	// Every session has drawn its first frame; wait until the server has
	// registered them all, so the measurement sees n live programs.
	waitSessions(b, func() bool { return live() == n })
	heap1, rss1 := memNow()
	return float64(n) / elapsed.Seconds(),
		float64(heap1-heap0) / 1024 / float64(n),
		float64(rss1-rss0) / 1024 / float64(n)
}

func waitSessions(b *testing.B, ok func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			b.Fatal("server session count did not settle within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memNow returns the Go heap in use plus goroutine stacks, and the resident
// set size, after a full collection that also returns free memory to the
// OS (so that RSS is comparable between rounds in one process).
func memNow() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse), rssBytes()
}

// rssBytes reads VmRSS from /proc (0 where there is none).
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func raiseFileLimit(tb testing.TB) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Logf("getrlimit: %v", err)
		return
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Logf("setrlimit: %v", err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchClient is the child process: it opens n sessions to addr, conc at a
// time, reports "opened <n> <nanoseconds>" on stdout once every session has
// shown its first frame, holds them idle until stdin closes, and exits.
func benchClient(addr string) int {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	n, conc := envInt(benchNEnv, 1000), envInt(benchConcEnv, 32)
	signers := make([]ssh.Signer, n)
	for i := range signers {
		var err error
		if signers[i], err = newKey(); err != nil {
			fmt.Fprintln(os.Stderr, "bench client:", err)
			return 1
		}
	}
	clients := make([]*ssh.Client, n)
	var next atomic.Int64
	var (
		stop     atomic.Bool
		errOnce  sync.Once
		firstErr error
	)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || stop.Load() {
					return
				}
				c, err := openToFirstFrame(addr, benchSource(i), signers[i])
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("session %d: %w", i, err) })
					stop.Store(true)
					return
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "bench client:", firstErr)
		return 1
	}
	fmt.Printf("opened %d %d\n", n, elapsed.Nanoseconds())
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range clients {
		c.Close()
	}
	return 0
}

// benchSource is the loopback address session i connects from: sessions
// spread over 250 addresses (4 each at 1,000), as real clients come from
// many, so the per-address limits are exercised but not hit.
func benchSource(i int) net.IP { return net.IPv4(127, 0, 1, byte(1+i%250)) }

// openToFirstFrame opens an interactive session and reads until the first
// frame shows benchMarker, answering the server's background-colour and
// device-attributes queries as a terminal would. A goroutine keeps
// draining the session afterwards.
func openToFirstFrame(addr string, from net.IP, signer ssh.Signer) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{
		User:            "bench",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // loopback, our own server
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	client := ssh.NewClient(cc, chans, reqs)
	fail := func(err error) (*ssh.Client, error) { client.Close(); return nil, err }
	sess, err := client.NewSession()
	if err != nil {
		return fail(err)
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, ssh.TerminalModes{}); err != nil {
		return fail(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return fail(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := sess.Shell(); err != nil {
		return fail(err)
	}
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	answered := false
	for {
		k, err := stdout.Read(buf)
		seen.Write(buf[:k])
		if !answered && bytes.Contains(seen.Bytes(), []byte("\x1b]11;?")) {
			answered = true
			if _, err := io.WriteString(stdin, "\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;22c"); err != nil {
				return fail(err)
			}
		}
		if strings.Contains(ansi.Strip(seen.String()), benchMarker) {
			break
		}
		if err != nil {
			return fail(fmt.Errorf("before the first frame: %w; got %q", err, seen.String()))
		}
	}
	_ = conn.SetDeadline(time.Time{})
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return client, nil
}
