package tui_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portal/portal/app"
	"github.com/portal/portal/portaltest"
	"golang.org/x/crypto/ssh"
)

// `status --json` for a key without an account is JSON on stdout, with the
// non-zero exit; scripts parse it instead of a line of text on stderr.
func TestStatusJSONUnregisteredKey(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t)
	out, code := p.Exec(t, portaltest.NewKey(t), "status --json")
	var got struct {
		Registered *bool  `json:"registered"`
		Admin      bool   `json:"admin"`
		Message    string `json:"message"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON (%v): %q", err, out)
	}
	if code == 0 || got.Registered == nil || *got.Registered || got.Admin || !strings.Contains(got.Message, "not registered") {
		t.Errorf("exit %d, %+v; want registered false, a message and a non-zero exit", code, got)
	}
}

// An admin key's status says it is an admin key (it opens the ops view),
// not "not registered".
func TestStatusAdminKeySaysAdmin(t *testing.T) {
	t.Parallel()
	admin := portaltest.NewKey(t)
	path := filepath.Join(t.TempDir(), "admin_keys")
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(admin.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) { c.AdminKeysPath = path }))
	out, code := p.Exec(t, admin, "status")
	if code != 0 || !strings.Contains(out, "admin key") || strings.Contains(out, "not registered") {
		t.Errorf("admin status: exit %d, %q", code, out)
	}
	out, _ = p.Exec(t, admin, "status --json")
	var got struct{ Registered, Admin bool }
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Registered || !got.Admin {
		t.Errorf("admin status --json: %q (%v)", out, err)
	}
}

// The rate-limit refusal is a whole line.
func TestRateLimitRefusalEndsWithNewline(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, portaltest.WithConfig(func(c *app.Config) { c.RateLimit, c.RateBurst = 0.001, 1 }))
	key := portaltest.NewKey(t)
	p.Exec(t, key, "status")
	out, code := p.Exec(t, key, "status")
	if code == 0 || !strings.Contains(out, "Too many") || !strings.HasSuffix(out, "\n") {
		t.Errorf("refusal: exit %d, %q; want a line ending in a newline", code, out)
	}
}
