package tui_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/portaltest"
	"github.com/portal/portal/store"
)

// readmeSamples is the README's Scripting samples: each "// comment" line
// of the jsonc block and the sample under it.
func readmeSamples(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Scripting\n")
	if !ok {
		t.Fatal("README has no Scripting section")
	}
	_, rest, _ = strings.Cut(rest, "```jsonc\n")
	block, _, _ := strings.Cut(rest, "```")
	samples := map[string]string{}
	var name string
	for _, line := range strings.Split(block, "\n") {
		if c, ok := strings.CutPrefix(line, "// "); ok {
			name = c
			samples[name] = ""
			continue
		}
		samples[name] += line + "\n"
	}
	return samples
}

var sampleField = regexp.MustCompile(`"([a-z0-9_]+)"\s*:`)

// fieldsOf is every object field name in v, at any depth (an array's
// first element stands for the others); top alone when only the outer
// object's.
func fieldsOf(v any, top bool) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out = append(out, k)
			if !top {
				out = append(out, fieldsOf(x, false)...)
			}
		}
	case []any:
		if len(v) > 0 {
			out = fieldsOf(v[0], top)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// rfc3339Seconds matches the times the commands print.
var rfc3339Seconds = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// checkTimes fails for a field named at, *_at, *_end or date that is not
// RFC 3339 in UTC to the second.
func checkTimes(t *testing.T, what string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (strings.HasSuffix(k, "_at") || strings.HasSuffix(k, "_end") || k == "date" || k == "at") && !rfc3339Seconds.MatchString(s) {
				t.Errorf("%s: %s = %q, want RFC 3339 UTC seconds", what, k, s)
			}
			checkTimes(t, what, x)
		}
	case []any:
		for _, x := range v {
			checkTimes(t, what, x)
		}
	}
}

// Every JSON sample in the README's Scripting section has the fields the
// command really prints (no more, no fewer), and the times are as the
// section says.
func TestREADMEScriptingSamples(t *testing.T) {
	t.Parallel()
	samples := readmeSamples(t)
	p := portaltest.Start(t, manyCommands)
	key, second, third, stranger := portaltest.NewKey(t), portaltest.NewKey(t), portaltest.NewKey(t), portaltest.NewKey(t)
	a := customer(t, p, key, "ada@example.com", "m")
	if _, err := p.App.Store().AddKey(a.ID, storeKey(second)); err != nil {
		t.Fatal(err)
	}
	if err := p.App.Store().Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PutLinkCode(store.LinkCode{Code: "7KQ2M9XD", AccountID: a.ID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	runs := []struct {
		sample, who, command, stdin string
		exit                        int
		top                         bool // compare the outer object's fields only (the sample elides the rest)
	}{
		{sample: "status", command: "status"},
		{sample: "status, unregistered key (exit 1)", who: "stranger", command: "status", exit: 1},
		{sample: "plans", command: "plans"},
		{sample: "invoices", command: "invoices"},
		{sample: "keys", command: "keys"},
		{sample: "keys", command: "keys add", stdin: authorizedLine(third, "ada@laptop")},
		{sample: "keys remove SHA256:F5kF...", command: "keys remove " + fingerprint(third)},
		{sample: "link 7KQ2-M9XD", who: "stranger", command: "link 7KQ2-M9XD"},
		{sample: "card, billing (card --wait adds \"card\": {\"brand\": \"visa\", \"last4\": \"4242\"} once saved)", command: "card"},
		{sample: "card, billing (card --wait adds \"card\": {\"brand\": \"visa\", \"last4\": \"4242\"} once saved)", command: "billing"},
		{sample: "plan xl (no --yes: nothing changes)", command: "plan xl"},
		{sample: "plan xl --yes, cancel --yes, resume --yes: the account after the change", command: "plan xl --yes", top: true},
		{sample: "plan xl --yes, cancel --yes, resume --yes: the account after the change", command: "cancel --yes", top: true},
		{sample: "plan xl --yes, cancel --yes, resume --yes: the account after the change", command: "resume --yes", top: true},
		{sample: "email new@example.com --yes", command: "email new@example.com --yes"},
		{sample: "any refusal (exit 1 or 2)", command: "plan nope", exit: 1},
		{sample: "any refusal (exit 1 or 2)", command: "cancel", exit: 2},
	}
	for _, r := range runs {
		sample, ok := samples[r.sample]
		if !ok {
			t.Errorf("README has no sample %q", r.sample)
			continue
		}
		var want []string
		for _, m := range sampleField.FindAllStringSubmatch(sample, -1) {
			want = append(want, m[1])
		}
		slices.Sort(want)
		want = slices.Compact(want)
		signer := key
		if r.who == "stranger" {
			signer = stranger
		}
		stdout, stderr, exit := p.Run(t, signer, r.command+" --json", r.stdin)
		if exit != r.exit {
			t.Errorf("%s: exit %d, want %d; stderr %q", r.command, exit, r.exit, stderr)
		}
		var got any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Errorf("%s --json: not JSON (%v): %q", r.command, err, stdout)
			continue
		}
		if fields := fieldsOf(got, r.top); !slices.Equal(fields, want) {
			t.Errorf("%s --json prints fields\n  %v\nthe README's sample %q has\n  %v\n%s", r.command, fields, r.sample, want, stdout)
		}
		checkTimes(t, r.command, got)
	}
}
