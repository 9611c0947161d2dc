package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

func TestHelpListsEveryFlagWithEnv(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"-h"}, &out, &errb); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	help := errb.String()
	for _, want := range []string{
		"-ssh-addr", "PORTAL_SSH_ADDR", `":2222"`,
		"-http-addr", "PORTAL_HTTP_ADDR", `":8080"`,
		"-data-dir", "PORTAL_DATA_DIR", `"data"`,
		"-idle-timeout", "PORTAL_IDLE_TIMEOUT",
		"-rate-limit", "PORTAL_RATE_LIMIT",
		"-max-conns-per-addr", "PORTAL_MAX_CONNS_PER_ADDR", `"100"`,
		"-max-handshakes", "PORTAL_MAX_HANDSHAKES",
		"-resize-rate", "PORTAL_RESIZE_RATE",
		"-http-read-timeout", "PORTAL_HTTP_READ_TIMEOUT", `"15s"`,
		"-link-rate", "PORTAL_LINK_RATE",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("-h output lacks %q:\n%s", want, help)
		}
	}
	// A flag whose default depends on another says so once, in words.
	if !strings.Contains(help, "-admin-keys  (env PORTAL_ADMIN_KEYS)\n") || strings.Contains(help, `default ""`) {
		t.Errorf("-h shows an empty default next to the real one:\n%s", help)
	}
}

func TestBadEnvIsAnError(t *testing.T) {
	t.Setenv("PORTAL_IDLE_TIMEOUT", "soon")
	var out, errb bytes.Buffer
	err := run(nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "PORTAL_IDLE_TIMEOUT") {
		t.Fatalf("run with a bad PORTAL_IDLE_TIMEOUT: err = %v, want one naming the variable", err)
	}
}

func TestCheckStoreCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAccount("a@example.com", store.Key{Fingerprint: "SHA256:x", PublicKey: "ssh-ed25519 AAAA"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var out, errb bytes.Buffer
	if err := run([]string{"check-store", path}, &out, &errb); err != nil || !strings.Contains(out.String(), "consistent") {
		t.Fatalf("check-store on a good file: %v, %q", err, out.String())
	}
	// A file that is not a store fails with the reason.
	bad := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("x"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"check-store", bad}, &out, &errb); err == nil {
		t.Fatal("check-store on garbage: no error")
	}
}

func TestLogFormat(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"-log-format", "xml"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Fatalf("-log-format xml: %v, want one naming the choices", err)
	}
}

func TestParseRetrySchedule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []time.Duration
		err  bool
	}{
		{"2d,3d", []time.Duration{48 * time.Hour, 72 * time.Hour}, false},
		{" 12h , 1d ", []time.Duration{12 * time.Hour, 24 * time.Hour}, false},
		{"none", []time.Duration{}, false},
		{"", []time.Duration{}, false},
		{"0d", nil, true},
		{"-1h", nil, true},
		{"1.5d", nil, true},
		{"soon", nil, true},
	} {
		got, err := parseRetrySchedule(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("parseRetrySchedule(%q) = %v, %v; want %v, error %t", tc.in, got, err, tc.want, tc.err)
		}
	}
}
