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
	if strings.Index(v, "advance_clock") > strings.Index(v, "extend_trial") || !strings.Contains(v, "2026-03-10 12:00 → 2026-03-11 12:00") {
		t.Errorf("the clock move is not first, or its times are not before → after:\n%s", v)
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
	for _, size := range []struct{ w, h, page int }{{140, 30, 20}, {80, 24, 7}} {
		d := f.drive(t, size.w, size.h)
		d.keys("5")
		// Every entry of a page is on screen (none cut at the bottom), and
		// each next page starts where the last ended, down to act00.
		seen := 0
		for p := 0; ; p++ {
			v := d.view()
			first, last := 39-p*size.page, max(39-(p+1)*size.page+1, 0)
			for _, want := range []string{fmt.Sprintf("act%02d", first), fmt.Sprintf("act%02d", last),
				fmt.Sprintf("· %d–%d", 40-first, 40-last)} {
				if !strings.Contains(v, want) {
					t.Fatalf("%dx%d page %d lacks %q:\n%s", size.w, size.h, p+1, want, v)
				}
			}
			if last > 0 && strings.Contains(v, fmt.Sprintf("act%02d", last-1)) {
				t.Fatalf("%dx%d page %d shows act%02d, of the next page:\n%s", size.w, size.h, p+1, last-1, v)
			}
			seen += first - last + 1
			if last == 0 {
				if strings.Contains(v, "(older") {
					t.Errorf("the last page offers an older one:\n%s", v)
				}
				break
			}
			d.keys("pgdown")
		}
		if seen != 40 {
			t.Errorf("%dx%d: paged through %d entries, want 40", size.w, size.h, seen)
		}
		d.keys("pgup")
		if v := d.view(); strings.Contains(v, "act00") || !strings.Contains(v, "(older") {
			t.Errorf("%dx%d: pgup from the last page:\n%s", size.w, size.h, v)
		}
	}
	for _, l := range cs.limits {
		// At most what was shown, a page beyond and one to know of more.
		if l <= 0 || l > 40+20+1 {
			t.Errorf("the audit tab asked the store for %d entries (limits %v): more than it shows", l, cs.limits)
		}
	}
}
