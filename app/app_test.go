package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestHealthzAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	a := newApp(t, Config{DataDir: dir})
	cancel, wait := runApp(t, a)
	resp, err := http.Get("http://" + a.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	var body map[string]any
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || body["status"] != "ok" {
		t.Fatalf("GET /healthz = %d %v (decode err %v), want 200 with status ok", resp.StatusCode, body, err)
	}
	fp := a.HostKeyFingerprint()
	// An unknown short link is a 404 with a way forward, not the mux's default.
	if resp, err := http.Get("http://" + a.HTTPAddr() + "/l/aaaaaaaaaa"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "Make a new one") {
			t.Errorf("GET unknown short link = %d %q", resp.StatusCode, b)
		}
	}
	for _, path := range []string{"/checkout/success?session_id=cs_1", "/checkout/cancel", "/"} {
		resp, err := http.Get("http://" + a.HTTPAddr() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %s, want a 200 HTML page", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}

	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run returned %v after shutdown", err)
	}

	// The store was closed cleanly (the lock is free) and the host key is kept.
	b := newApp(t, Config{DataDir: dir})
	runApp(t, b)
	if got := b.HostKeyFingerprint(); got != fp {
		t.Fatalf("host key changed across restart: %s then %s", fp, got)
	}
}

// The sandbox's API answers only this portal's key: anyone who can reach
// the HTTP port could otherwise read customers or move the clock.
func TestSandboxAPINeedsThePortalsKey(t *testing.T) {
	a := newApp(t, Config{})
	runApp(t, a)
	get := func(key string) int {
		req, _ := http.NewRequest("GET", "http://"+a.HTTPAddr()+"/sandbox/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a.SandboxAPIKey() == "" {
		t.Fatal("sandboxed portal without a sandbox API key")
	}
	if code := get("sk_test_guess"); code != http.StatusUnauthorized {
		t.Errorf("sandbox API with another test key = %d, want 401", code)
	}
	if code := get(a.SandboxAPIKey()); code != http.StatusOK {
		t.Errorf("sandbox API with the portal's key = %d, want 200", code)
	}
}
