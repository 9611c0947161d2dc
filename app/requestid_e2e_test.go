package app_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/portaltest"
	"github.com/stripe/stripe-go/v76"
	gossh "golang.org/x/crypto/ssh"
)

// The request_id is the same id from end to end: billing's line for a
// session's sign-up carries the id of that session's own "session start"
// line, and billing's line for a verified webhook carries the id the HTTP
// answer echoed in X-Request-Id (issue 15).
func TestRequestIDIsTheSameFromSessionAndRequestToBilling(t *testing.T) {
	var buf testkit.Buffer
	p := portaltest.Start(t, portaltest.WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	key := portaltest.NewKey(t)
	fp := gossh.FingerprintSHA256(key.PublicKey())
	s := p.Connect(t, key, portaltest.WithSize(160, 48))
	s.SignUp(t, "same-id@example.com", "2")
	s.Close()

	secret, err := os.ReadFile(filepath.Join(p.DataDir, "webhook_secret"))
	if err != nil {
		t.Fatal(err)
	}
	const evID = "evt_RequestIDIgnored1"
	body, _ := json.Marshal(map[string]any{
		"id": evID, "object": "event", "type": "balance.available", "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": map[string]any{"object": "balance"}},
	})
	code, httpID := postEventID(t, p, body, strings.TrimSpace(string(secret)))
	if code != http.StatusOK || httpID == "" {
		t.Fatalf("signed delivery: %d, X-Request-Id %q", code, httpID)
	}

	var sessionID, chosenID, webhookID string
	deadline := time.Now().Add(10 * time.Second)
	for (sessionID == "" || chosenID == "" || webhookID == "") && time.Now().Before(deadline) {
		for _, l := range jsonLines(t, &buf) {
			id, _ := l["request_id"].(string)
			switch {
			case l["msg"] == "session start" && l["key"] == fp:
				sessionID = id
			case l["msg"] == "billing: plan chosen":
				chosenID = id
			case l["msg"] == "webhook: ignored" && l["event"] == evID:
				webhookID = id
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sessionID == "" || chosenID != sessionID {
		t.Errorf("session start request_id %q, billing: plan chosen %q: want the same, not empty", sessionID, chosenID)
	}
	if webhookID != httpID {
		t.Errorf("webhook: ignored request_id %q, want the X-Request-Id %q", webhookID, httpID)
	}
}
