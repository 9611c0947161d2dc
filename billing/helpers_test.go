package billing

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// stripeMockVersion is the last stripe-mock whose spec is API 2023-10-16.
const stripeMockVersion = "v0.183.0"

func openStore(tb testing.TB, noSync bool) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "portal.db"), store.Options{NoSync: noSync})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newAccount(tb testing.TB, db *store.DB, email string) store.Account {
	tb.Helper()
	a, err := db.CreateAccount(email, store.Key{Fingerprint: "SHA256:" + email, PublicKey: "ssh-ed25519 " + email, AddedAt: time.Now()})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// apiFor returns a stripe client for baseURL over httpClient, without retries
// and with stripe-go's own logging off.
func apiFor(baseURL string, httpClient *http.Client) *client.API {
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL),
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return client.New("sk_test_portal", &stripe.Backends{API: b, Connect: b, Uploads: b})
}

var (
	stripeMockOnce sync.Once
	stripeMockBin  string
	stripeMockErr  error
)

// stripeMockBinary builds stripe-mock once per machine into the user cache
// (STRIPE_MOCK_BIN overrides), so only the first run pays for the build.
func stripeMockBinary() (string, error) {
	stripeMockOnce.Do(func() {
		if p := os.Getenv("STRIPE_MOCK_BIN"); p != "" {
			stripeMockBin = p
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "portal-test", "stripe-mock-"+stripeMockVersion)
		bin := filepath.Join(dir, "stripe-mock")
		if _, err := os.Stat(bin); err == nil {
			stripeMockBin = bin
			return
		}
		cmd := exec.Command("go", "install", "github.com/stripe/stripe-mock@"+stripeMockVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			stripeMockErr = err
			stripeMockBin = string(out)
			return
		}
		stripeMockBin = bin
	})
	return stripeMockBin, stripeMockErr
}

// startStripeMock runs stripe-mock on a unix socket for the test and returns a
// client for it. It skips, loudly, when stripe-mock cannot be built or run.
func startStripeMock(tb testing.TB) *client.API {
	tb.Helper()
	bin, err := stripeMockBinary()
	if err != nil {
		tb.Skipf("CONTRACT TESTS SKIPPED: cannot build stripe-mock %s: %v\n%s", stripeMockVersion, err, bin)
	}
	sock := filepath.Join(tb.TempDir(), "mock.sock")
	cmd := exec.Command(bin, "-http-unix", sock)
	if err := cmd.Start(); err != nil {
		tb.Skipf("CONTRACT TESTS SKIPPED: cannot start stripe-mock: %v", err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
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
	return apiFor("http://stripe-mock", &http.Client{Transport: &http.Transport{DialContext: dial}, Timeout: 10 * time.Second})
}
