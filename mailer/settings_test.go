package mailer

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Settings
	}{
		{"smtp://user:secret@mail.example.com?from=billing@example.com",
			Settings{Host: "mail.example.com", Port: 587, Username: "user", From: "billing@example.com",
				TLS: TLSStartTLS, Auth: AuthPlain, password: "secret"}},
		{"smtps://user:secret@mail.example.com?from=billing@example.com&auth=LOGIN",
			Settings{Host: "mail.example.com", Port: 465, Username: "user", From: "billing@example.com",
				TLS: TLSImplicit, Auth: AuthLogin, password: "secret"}},
		{"smtp://mail.example.com:2525?from=Billing+%3Cb@example.com%3E&tls=tls",
			Settings{Host: "mail.example.com", Port: 2525, From: "Billing <b@example.com>", TLS: TLSImplicit}},
		{"smtp://relay.internal?from=b@example.com&tls=none",
			Settings{Host: "relay.internal", Port: 25, From: "b@example.com", TLS: TLSNone}},
		{"smtp://u%40x:p%40ss%2F%3F@[::1]:1025/?from=b@example.com&tls=none",
			Settings{Host: "::1", Port: 1025, Username: "u@x", From: "b@example.com",
				TLS: TLSNone, Auth: AuthPlain, password: "p@ss/?"}},
		{"smtp://u:p@localhost:1025?from=b@example.com&tls=none",
			Settings{Host: "localhost", Port: 1025, Username: "u", From: "b@example.com",
				TLS: TLSNone, Auth: AuthPlain, password: "p"}},
	} {
		got, err := ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) = %#v (password %q), want %#v (password %q)",
				tc.raw, got, got.password, tc.want, tc.want.password)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	const pw = "Hunter2zz"
	for _, tc := range []struct{ raw, want string }{
		{"", "empty"},
		{"mail.example.com", "scheme"},
		{"http://mail.example.com?from=a@b.example", "scheme"},
		{"smtp://?from=a@b.example", "no host"},
		{"smtp://mail.example.com", "from="},
		{"smtp://mail.example.com?from=nobody", "not an email address"},
		{"smtp://mail.example.com?from=a@b.example&tls=ssl", "tls="},
		{"smtps://mail.example.com?from=a@b.example&tls=none", "contradicts"},
		{"smtp://mail.example.com:0?from=a@b.example", "port"},
		{"smtp://mail.example.com:70000?from=a@b.example", "port"},
		{"smtp://mail.example.com?from=a@b.example&form=x", `"form" unknown`},
		{"smtp://mail.example.com?from=a@b.example&from=c@d.example", "2 times"},
		{"smtp://mail.example.com/inbox?from=a@b.example", "path"},
		{"smtp://:" + pw + "@mail.example.com?from=a@b.example", "no user"},
		{"smtp://mail.example.com?from=a@b.example&auth=plain", "no user"},
		{"smtp://u:" + pw + "@mail.example.com?from=a@b.example&auth=xoauth", "auth="},
		{"smtp://u:" + pw + "@mail.example.com?from=a@b.example&tls=none", "clear text"},
		{"smtp://u:" + pw + "@10.0.0.1?from=a@b.example&tls=none", "clear text"},
		// Unescaped specials in the password: the URL breaks in odd places.
		{"smtp://u:" + pw + "/x@mail.example.com?from=a@b.example", "port"},
		{"smtp://u:" + pw + "%zz@mail.example.com?from=a@b.example", "escape"},
		{"smtp://u:12345?" + pw + "@mail.example.com&from=a@b.example", "malformed"},
		{"smtp://u:" + pw + "#x@mail.example.com?from=a@b.example", "port"},
		{"smtp://u:p@mail.example.com?from=a@b.example#" + pw, "fragment"},
		{"smtp://u:p w" + pw + "@mail.example.com?from=a@b.example", "user or password"},
	} {
		_, err := ParseURL(tc.raw)
		if err == nil {
			t.Errorf("ParseURL(%q): no error, want one about %q", tc.raw, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %q, want it to mention %q", tc.raw, err, tc.want)
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), pw[:6]) {
			t.Errorf("ParseURL(%q) error shows the password: %q", tc.raw, err)
		}
	}
}

func TestSettingsRedacted(t *testing.T) {
	const pw = "Hunter2-very-secret"
	s, err := ParseURL("smtp://user:" + pw + "@mail.example.com?from=billing@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if want := "smtp://user:xxxxx@mail.example.com:587?auth=plain&from=billing%40example.com&tls=starttls"; s.String() != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "smtp", s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "smtp", s, "ptr", &s)
	printed := fmt.Sprintf("%v %+v %#v %s %v", s, s, s, s, &s) + logs.String()
	if strings.Contains(printed, pw) {
		t.Errorf("password printed: %s", printed)
	}
	if !strings.Contains(printed, "xxxxx") {
		t.Errorf("redacted form missing: %s", printed)
	}
}
