package tui_test

import (
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
)

// With --json, a usage error is JSON on stdout too (as the README says of
// every refusal): an unknown command, and an unknown option placed before
// --json. The reason is printed as typed ("<", not "\u003c").
func TestUsageErrorsWithJSON(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	key := portaltest.NewKey(t)
	customer(t, p, key, "us@example.com", "free")
	for cmd, want := range map[string]string{
		"frob":        `Unknown command "frob"`,
		"keys --frob": `unknown option "--frob"`,
		"keys remove": "usage: keys [list | add < KEY.pub",
		"plan":        "one plan name expected",
		"link a b":    "one code expected",
		"cancel":      "add --yes",
		"email":       "one address expected",
	} {
		var e errJSON
		stderr, code := runJSON(t, p, key, cmd, &e)
		if code != 2 || !strings.Contains(e.Error, want) || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%s --json: exit %d, stdout %+v, stderr %q; want exit 2 and %q on both", cmd, code, e, stderr, want)
		}
	}
	stdout, _, _ := p.Run(t, key, "keys remove --json", "")
	if strings.Contains(stdout, `\u003c`) {
		t.Errorf("usage escaped for HTML: %s", stdout)
	}
}
