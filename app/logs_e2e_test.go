package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/testkit"
	"github.com/portal/portal/portaltest"
)

// jsonLines parses the JSON log lines written to b so far.
func jsonLines(t *testing.T, b *testkit.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// A session's request id reaches billing's log lines, and an HTTP
// request's id (echoed in X-Request-Id) the webhook handler's.
func TestRequestIDsReachBillingLogs(t *testing.T) {
	var buf testkit.Buffer
	p := portaltest.Start(t, portaltest.WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	s := p.Connect(t, portaltest.NewKey(t), portaltest.WithSize(160, 48))
	s.SignUp(t, "logs@example.com", "2")
	s.Close()

	req, _ := http.NewRequest("POST", "http://"+p.App.HTTPAddr()+"/webhooks/stripe", strings.NewReader("{}"))
	req.Header.Set("Stripe-Signature", "t=1,v1=deadbeef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	httpID := resp.Header.Get("X-Request-Id")
	if httpID == "" {
		t.Fatal("no X-Request-Id on the answer")
	}

	var chosen, rejected, processed bool
	deadline := time.Now().Add(10 * time.Second)
	for !(chosen && rejected && processed) && time.Now().Before(deadline) {
		for _, l := range jsonLines(t, &buf) {
			id, _ := l["request_id"].(string)
			switch l["msg"] {
			case "billing: plan chosen":
				chosen = chosen || id != ""
			case "webhook rejected":
				rejected = rejected || id == httpID
			case "webhook: processed":
				processed = processed || id != ""
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !chosen || !rejected || !processed {
		t.Fatalf("request ids in logs: plan chosen %v, webhook rejected with %s %v, webhook processed %v", chosen, httpID, rejected, processed)
	}
	all := buf.String()
	if strings.Contains(all, "deadbeef") || strings.Contains(all, "whsec_") {
		t.Fatal("a signature or the webhook secret reached the logs")
	}
}
