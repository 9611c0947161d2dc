package billing

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/store"
)

// linkService is a Service on db whose clock the test moves.
func linkService(tb testing.TB, db *store.DB) (*Service, func(time.Duration)) {
	tb.Helper()
	c := testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	svc, err := New(Config{API: newFakeStripe().api(), Store: db, PublicURL: "https://portal.example.com/",
		Logger: testLogger(tb), Now: c.Now})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, c.Add
}

func get(tb testing.TB, h http.Handler, method, path string) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		tb.Errorf("%s %s: Cache-Control %q", method, path, cc)
	}
	return rec
}

func TestShortLinks(t *testing.T) {
	svc, advance := linkService(t, openStore(t, true))
	h := svc.LinkHandler()
	target := "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ#fidkdWxOYHwnPyd1blpxYHZxWjA0SDJhT2RLMXxffHxqSFd8"
	expires := svc.Now().Add(time.Hour)
	l := svc.shorten(Link{URL: target, ExpiresAt: expires, SessionID: "cs_test"}, portalLinkTTL)
	tok, ok := strings.CutPrefix(l.URL, "https://portal.example.com/l/")
	if !ok || len(tok) != tokenLen || strings.Trim(tok, tokenAlphabet) != "" {
		t.Fatalf("short URL %q", l.URL)
	}
	if l.Target != target || !l.ExpiresAt.Equal(expires) || l.SessionID != "cs_test" || len(l.URL) > 60 {
		t.Fatalf("link %+v", l)
	}
	if other := svc.shorten(Link{URL: target, ExpiresAt: expires}, portalLinkTTL); other.URL == l.URL {
		t.Fatal("two links share a token")
	}

	rec := get(t, h, http.MethodGet, "/l/"+tok)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != target {
		t.Fatalf("GET: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get(t, h, http.MethodHead, "/l/"+tok); rec.Code != http.StatusFound {
		t.Fatalf("HEAD: %d", rec.Code)
	}
	if rec := get(t, h, http.MethodPost, "/l/"+tok); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
	for _, path := range []string{"/l/aaaaaaaaaa", "/l/", "/l/" + tok + "x", "/l/" + strings.ToUpper(tok), "/x/" + tok} {
		rec := get(t, h, http.MethodGet, path)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "unknown or has expired") || strings.Contains(rec.Body.String(), "stripe") {
			t.Errorf("GET %s: %d %q", path, rec.Code, rec.Body.String())
		}
	}

	// Expiry follows the injected clock.
	advance(59 * time.Minute)
	if rec := get(t, h, http.MethodGet, "/l/"+tok); rec.Code != http.StatusFound {
		t.Fatalf("a minute before expiry: %d", rec.Code)
	}
	advance(time.Minute)
	if rec := get(t, h, http.MethodGet, "/l/"+tok); rec.Code != http.StatusNotFound {
		t.Fatalf("at expiry: %d", rec.Code)
	}

	// A page without its own expiry (the billing portal) gets the TTL.
	p := svc.shorten(Link{URL: target}, portalLinkTTL)
	if !p.ExpiresAt.Equal(svc.Now().Add(24 * time.Hour)) {
		t.Fatalf("portal link expires %s", p.ExpiresAt)
	}
	// SweepLinks (RunLinkSweep's pass, one instance's job) deletes the
	// expired links by the billing clock and keeps the live ones.
	advance(25 * time.Hour)
	fresh := svc.shorten(Link{URL: target}, portalLinkTTL)
	if n, err := svc.SweepLinks(); err != nil || n != 3 {
		t.Fatalf("SweepLinks = %d, %v; want the 3 expired links", n, err)
	}
	if n, err := svc.db.DeleteExpiredLinks(svc.Now()); err != nil || n != 0 {
		t.Fatalf("%d expired links outlived the sweep (%v)", n, err)
	}
	if rec := get(t, h, http.MethodGet, strings.TrimPrefix(fresh.URL, "https://portal.example.com")); rec.Code != http.StatusFound {
		t.Fatalf("the sweep took a live link: %d", rec.Code)
	}
}

// A link shown before a restart (or scanned as a QR code) opens after it;
// a store that cannot be read is a 503, and a link that cannot be stored
// is handed out long.
func TestShortLinksOutliveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := linkService(t, db)
	target := "https://checkout.stripe.com/c/pay/cs_test_restart"
	l := svc.shorten(Link{URL: target}, portalLinkTTL)
	short := strings.TrimPrefix(l.URL, "https://portal.example.com")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, svc.LinkHandler(), http.MethodGet, short); rec.Code != http.StatusServiceUnavailable ||
		!strings.Contains(rec.Body.String(), "Try again in a moment") {
		t.Fatalf("closed store: %d %q", rec.Code, rec.Body.String())
	}
	if long := svc.shorten(Link{URL: target}, portalLinkTTL); long.URL != target {
		t.Fatalf("closed store: link %q, want the long one", long.URL)
	}

	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	restarted, _ := linkService(t, db)
	rec := get(t, restarted.LinkHandler(), http.MethodGet, short)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != target {
		t.Fatalf("after restart: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
}
