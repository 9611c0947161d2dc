// Package stripemock runs Stripe's stripe-mock, pinned to the last release
// whose OpenAPI spec is API 2023-10-16, for contract tests: every call the
// portal makes must validate there too.
//
// The binary is built once per machine into the user cache with `go install`
// (only the Go module proxy is needed); STRIPE_MOCK_BIN overrides it. Each
// test gets its own stripe-mock on a unix socket in its temp dir, so parallel
// test binaries can never talk to each other's servers through a reused TCP
// port.
package stripemock

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Version is the pinned stripe-mock: later releases validate a newer API.
const Version = "v0.183.0"

// BaseURL is the URL to give stripe-go together with Start's client; the
// host is ignored, the client dials the socket.
const BaseURL = "http://stripe-mock"

var (
	once   sync.Once
	binary string
	binErr error
)

// Binary returns the path of the stripe-mock binary, building it on first
// use. On failure the returned string holds the build output.
func Binary() (string, error) {
	once.Do(func() {
		if p := os.Getenv("STRIPE_MOCK_BIN"); p != "" {
			binary = p
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "portal-test", "stripe-mock-"+Version)
		bin := filepath.Join(dir, "stripe-mock")
		if _, err := os.Stat(bin); err == nil {
			binary = bin
			return
		}
		cmd := exec.Command("go", "install", "github.com/stripe/stripe-mock@"+Version)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr, binary = err, string(out)
			return
		}
		binary = bin
	})
	return binary, binErr
}

// Start runs a stripe-mock for tb, stopped at cleanup, and returns an HTTP
// client that reaches it at BaseURL. It skips tb, loudly, when stripe-mock
// cannot be built or started.
func Start(tb testing.TB) *http.Client {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Skipf("CONTRACT TESTS SKIPPED: cannot build stripe-mock %s: %v\n%s", Version, err, bin)
	}
	sock := filepath.Join(tb.TempDir(), "mock.sock")
	cmd := exec.Command(bin, "-http-unix", sock)
	if err := cmd.Start(); err != nil {
		tb.Skipf("CONTRACT TESTS SKIPPED: cannot start stripe-mock: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := dial(context.Background(), "", "")
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Skipf("CONTRACT TESTS SKIPPED: stripe-mock did not listen on %s: %v", sock, err)
		}
	}
	return &http.Client{Transport: &http.Transport{DialContext: dial}, Timeout: 10 * time.Second}
}
