package tui_test

import (
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
)

// Refusals on a Free account, which share one portal: none changes the
// account.
func TestRefusalsOnFree(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	key := portaltest.NewKey(t)
	customer(t, p, key, "fr@example.com", "free")

	// card and billing say why there is nothing to link (no card needed,
	// no billing account yet), not "no subscription to change".
	t.Run("CardAndBillingSayWhy", func(t *testing.T) {
		for cmd, want := range map[string]string{
			"card":    "The Free plan needs no card; choose a paid plan first.",
			"billing": "There is no subscription yet, so no invoices or billing details: they start with a paid plan.",
		} {
			if _, stderr, c := p.Run(t, key, cmd, ""); c != 1 || strings.TrimSpace(stderr) != want {
				t.Errorf("%s on Free: exit %d, %q; want %q", cmd, c, stderr, want)
			}
			var e errJSON
			if _, c := runJSON(t, p, key, cmd, &e); c != 1 || e.Error != want {
				t.Errorf("%s --json on Free: exit %d, %+v", cmd, c, e)
			}
		}
	})

	// With --json, a usage error is JSON on stdout too (as the README says
	// of every refusal): an unknown command, and an unknown option placed
	// before --json. The reason is printed as typed ("<", not "\u003c").
	t.Run("UsageErrorsWithJSON", func(t *testing.T) {
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
	})
}
