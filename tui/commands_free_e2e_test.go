package tui_test

import (
	"strings"
	"testing"

	"github.com/portal/portal/portaltest"
)

// card and billing on a Free account say why there is nothing to link
// (no card needed, no billing account yet), not "no subscription to change".
func TestCardAndBillingOnFreeSayWhy(t *testing.T) {
	t.Parallel()
	p := portaltest.Start(t, manyCommands)
	key := portaltest.NewKey(t)
	customer(t, p, key, "fr@example.com", "free")
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
}
