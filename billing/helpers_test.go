package billing

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portal/portal/internal/stripemock"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

func openStore(tb testing.TB, noSync bool) *store.DB {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "portal.db"), store.Options{NoSync: noSync})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// chooseAtOnce has the account choose plans s and m from two sessions at
// the same moment. It counts the choices that started a trial and those
// refused as used or still pending, and fails the test on any other error.
func chooseAtOnce(tb testing.TB, svc *Service, id string) (ok, refused int) {
	tb.Helper()
	start := make(chan struct{})
	errs := make(chan error, 2)
	for _, plan := range []string{"s", "m"} {
		go func() {
			<-start
			_, err := svc.ChoosePlan(context.Background(), id, plan)
			errs <- err
		}()
	}
	close(start)
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrCardRequired), errors.Is(err, ErrTrialPending):
			refused++
		default:
			tb.Errorf("ChoosePlan: %v", err)
		}
	}
	return ok, refused
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

// startStripeMock runs the pinned stripe-mock for the test.
func startStripeMock(tb testing.TB) *client.API {
	tb.Helper()
	return apiFor(stripemock.BaseURL, stripemock.Start(tb))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
