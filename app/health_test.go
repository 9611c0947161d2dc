package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
)

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func getReady(t testing.TB, a *App) (int, readyBody) {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var b readyBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("GET /readyz: decode: %v", err)
	}
	return resp.StatusCode, b
}

// newApp is New on cfg with both listeners on free loopback ports and,
// unless cfg names one, a fresh data directory.
func newApp(t testing.TB, cfg Config) *App {
	t.Helper()
	cfg.SSHAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runApp runs a until the test ends; wait returns Run's error.
func runApp(t testing.TB, a *App) (cancel context.CancelFunc, wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { runErr = a.Run(ctx); close(done) }()
	wait = func() error {
		select {
		case <-done:
			return runErr
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return within 20s")
			return nil
		}
	}
	t.Cleanup(func() { cancel(); _ = wait() })
	return cancel, wait
}

// waitReady polls /readyz until it answers 200: the SSH listener is marked
// up only once Serve accepts.
func waitReady(t testing.TB, a *App) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, b := getReady(t, a)
		if code == http.StatusOK {
			if b.Checks["store"] != "ok" || b.Checks["ssh"] != "ok" {
				t.Fatalf("/readyz 200 with checks %v", b.Checks)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %+v, want 200 within 10s", code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLivezAndReadyzThroughShutdown(t *testing.T) {
	a := newApp(t, Config{HandshakeTimeout: time.Minute, ShutdownTimeout: 15 * time.Second})
	cancel, wait := runApp(t, a)
	resp, err := http.Get("http://" + a.HTTPAddr() + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/livez = %d", resp.StatusCode)
	}
	waitReady(t, a)

	// An authenticated connection without a session (ssh -N) holds
	// shutdown open until ShutdownTimeout, so /readyz can be asked
	// mid-shutdown.
	c := testkit.Dial(t, a.SSHAddr(), testkit.ClientConfig("ops", testkit.NewSigner(t), a.HostPublicKey()))
	// A reply means the server tracks the connection (it replies after).
	if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, b := getReady(t, a)
		if code == http.StatusServiceUnavailable {
			if b.Checks["shutdown"] == "" || b.Status != "not ready" {
				t.Fatalf("/readyz 503 body %+v, want the shutdown named", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d during shutdown, want 503", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Close()
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestReadyzStoreUnavailable(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		a := newApp(t, Config{})
		runApp(t, a)
		waitReady(t, a)
		_ = a.store.Close()
		code, b := getReady(t, a)
		if code != http.StatusServiceUnavailable || !strings.Contains(b.Checks["store"], "not open") {
			t.Fatalf("/readyz with the store closed = %d %+v, want 503 naming the store", code, b)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		a := newApp(t, Config{})
		// A store that never answers (a wedged disk, a database gone away).
		a.pingStore = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		runApp(t, a)
		code, b := getReady(t, a)
		if code != http.StatusServiceUnavailable || !strings.Contains(b.Checks["store"], "deadline") {
			t.Fatalf("/readyz with a stalled store = %d %+v, want 503 naming the deadline", code, b)
		}
	})
}
