package ops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

func TestGoldenAudit(t *testing.T) {
	f, _ := goldenFixture(t, true)
	d := f.drive(t, 140, 24)
	d.keys("5")
	v := d.view()
	for _, want := range []string{"[5 Audit]", "extend_trial", "alice@example.com", "trial_end=2026-03-10T12:00:00Z→2026-03-12T12:00:00Z",
		"reconciler", "frank@example.org", "state=trial→locked_trial_ended"} {
		if !strings.Contains(v, want) {
			t.Errorf("audit tab lacks %q:\n%s", want, v)
		}
	}
	if strings.Index(v, "extend_trial") > strings.Index(v, "reconciler") {
		t.Errorf("audit tab is not newest first:\n%s", v)
	}
	golden(t, "audit", v)
}

// countingAudit records the limits the audit tab asks the store for.
type countingAudit struct {
	store.Store
	limits []int
}

func (c *countingAudit) Audit(accountID string, limit int) ([]store.AuditEntry, error) {
	c.limits = append(c.limits, limit)
	return c.Store.Audit(accountID, limit)
}

// The audit tab pages through a long log newest first, and never asks the
// store for all of it (a limit of 0 would read the whole history).
func TestAuditTabPagesWithoutReadingAll(t *testing.T) {
	f := newFixture(t, true)
	for i := range 40 {
		if _, err := f.db.AppendAudit(store.AuditEntry{Actor: "reconciler", Action: fmt.Sprintf("act%02d", i),
			At: testNow.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	f.load(t)
	cs := &countingAudit{Store: f.ops.cfg.Store}
	f.ops.cfg.Store = cs
	d := f.drive(t, 120, 30)
	d.keys("5")
	v := d.view()
	if !strings.Contains(v, "act39") || strings.Contains(v, "act24") || !strings.Contains(v, "page 1") {
		t.Fatalf("first page is not the newest %d:\n%s", auditPageSize, v)
	}
	d.keys("pgdown")
	if v = d.view(); !strings.Contains(v, "act24") || strings.Contains(v, "act25") || !strings.Contains(v, "page 2") {
		t.Fatalf("second page:\n%s", v)
	}
	d.keys("pgdown", "pgdown") // the third page is the last: a fourth is not asked for
	if v = d.view(); !strings.Contains(v, "act00") || !strings.Contains(v, "page 3") || strings.Contains(v, "(older") {
		t.Fatalf("last page:\n%s", v)
	}
	d.keys("pgup")
	if v = d.view(); !strings.Contains(v, "act24") || !strings.Contains(v, "page 2") {
		t.Fatalf("back a page:\n%s", v)
	}
	for _, l := range cs.limits {
		if l <= 0 || l > 3*auditPageSize+1 {
			t.Errorf("the audit tab asked the store for %d entries (limits %v): more than the pages shown", l, cs.limits)
		}
	}
}
