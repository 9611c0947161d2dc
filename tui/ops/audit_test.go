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
	shows(t, v, []string{"[5 Audit]", "extend_trial", "alice@example.com", "trial_end=2026-03-10T12:00:00Z→2026-03-12T12:00:00Z",
		"reconciler", "frank@example.org", "state=trial→locked_trial_ended"}, nil)
	if strings.Index(v, "advance_clock") > strings.Index(v, "extend_trial") || !strings.Contains(v, "2026-03-10 12:00 → 2026-03-11 12:00") {
		t.Errorf("the clock move is not first, or its times are not before → after:\n%s", v)
	}
	if strings.Index(v, "extend_trial") > strings.Index(v, "reconciler") {
		t.Errorf("audit tab is not newest first:\n%s", v)
	}
	golden(t, "audit", v)
}

// countingAudit records how many entries each of the audit tab's reads
// returned, by either of the store's audit listings.
type countingAudit struct {
	store.Store
	reads []int
}

func (c *countingAudit) Audit(accountID string, limit int) ([]store.AuditEntry, error) {
	es, err := c.Store.Audit(accountID, limit)
	c.reads = append(c.reads, len(es))
	return es, err
}

func (c *countingAudit) AuditPage(accountID, before string, limit int) ([]store.AuditEntry, string, error) {
	es, next, err := c.Store.AuditPage(accountID, before, limit)
	c.reads = append(c.reads, len(es))
	return es, next, err
}

func appendActs(t testing.TB, db store.Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := db.AppendAudit(store.AuditEntry{Actor: "reconciler", Action: fmt.Sprintf("act%02d", i),
			At: testNow.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
}

// The audit tab pages through a long log newest first, and each page reads
// only its own entries from the store: never the newer ones before it, nor
// all of the history.
func TestAuditTabPagesReadingOnePage(t *testing.T) {
	f := newFixture(t, true)
	appendActs(t, f.db, 0, 40)
	f.load(t)
	cs := &countingAudit{Store: f.ops.cfg.Store}
	f.ops.cfg.Store = cs
	for _, size := range []struct{ w, h, page int }{{140, 30, 20}, {80, 24, 7}} {
		cs.reads = nil
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
		for _, n := range cs.reads {
			if n > size.page {
				t.Errorf("%dx%d: a read of the audit tab returned %d entries (reads %v), more than the page of %d",
					size.w, size.h, n, cs.reads, size.page)
				break
			}
		}
	}
}

// Entries written while the admin reads an older page do not shift the
// pages after it: "older" continues right after the last entry shown.
func TestAuditTabOlderAfterNewEntries(t *testing.T) {
	f := newFixture(t, true)
	appendActs(t, f.db, 0, 50)
	f.load(t)
	d := f.drive(t, 140, 30) // 20 entries a page
	d.keys("5", "pgdown")
	if v := d.view(); !strings.Contains(v, "act29") || !strings.Contains(v, "act10") || strings.Contains(v, "act09") {
		t.Fatalf("second page is not act29–act10:\n%s", d.view())
	}
	appendActs(t, f.db, 50, 55)
	d.keys("pgdown")
	v := d.view()
	if !strings.Contains(v, "act09") || !strings.Contains(v, "act00") {
		t.Errorf("third page lacks act09–act00:\n%s", v)
	}
	for i := 10; i < 15; i++ {
		if strings.Contains(v, fmt.Sprintf("act%02d", i)) {
			t.Errorf("third page shows act%02d again, of the page before:\n%s", i, v)
			break
		}
	}
	d.keys("g")
	if v := d.view(); !strings.Contains(v, "act54") {
		t.Errorf("g does not show the newest entry:\n%s", v)
	}
}

// The help line offers "older" only when there is an older page and
// "newer" only when there is a newer one.
func TestAuditTabHelpOffersOnlyPagesThatExist(t *testing.T) {
	f := newFixture(t, true)
	appendActs(t, f.db, 0, 30)
	f.load(t)
	d := f.drive(t, 140, 30)
	d.keys("5")
	help := func() string {
		for _, l := range strings.Split(d.view(), "\n") {
			if strings.Contains(l, "q quit") {
				return l
			}
		}
		t.Fatalf("no help line:\n%s", d.view())
		return ""
	}
	if h := help(); !strings.Contains(h, "older") || strings.Contains(h, "newer") {
		t.Errorf("first page's help: %s", h)
	}
	d.keys("pgdown")
	if h := help(); strings.Contains(h, "older") || !strings.Contains(h, "newer") {
		t.Errorf("last page's help: %s", h)
	}
	d.keys("?")
	if v := d.view(); strings.Contains(v, "older") {
		t.Errorf("the full help on the last page offers older:\n%s", v)
	}
}

// At 80 columns an admin action's arguments are not cut: the clock move's
// span, the notice resent.
func TestAuditTabNarrowShowsWholeAction(t *testing.T) {
	f := newFixture(t, true)
	if _, err := f.db.AppendAudit(store.AuditEntry{Actor: adminFP, Action: "advance_clock by=768h0m0s",
		Before: "2026-03-10 12:00", After: "2026-04-11 12:00"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AppendAudit(store.AuditEntry{Actor: adminFP, Action: "resend_notice notice=ntc_0123456789abcdef kind=trial_will_end",
		Before: "notice=ntc_0123456789abcdef kind=trial_will_end mail=sent mailed_at=2026-03-10T12:00:00Z", After: "notice=ntc_0123456789abcdef kind=trial_will_end mail=queued"}); err != nil {
		t.Fatal(err)
	}
	f.load(t)
	for _, w := range []int{80, 100, 140} {
		d := f.drive(t, w, 24)
		d.keys("5")
		v := d.view()
		want := []string{"advance_clock", "by=768h0m0s", "2026-03-10 12:00 → 2026-04-11 12:00", "resend_notice", "mail=sent→queued"}
		if w >= 100 {
			// At 80 the notice's id leaves no room for its kind after the change.
			want = append(want, "notice=ntc_0123456789abcdef kind=trial_will_end")
		}
		for _, want := range want {
			if !strings.Contains(v, want) {
				t.Errorf("%d columns: %q missing or cut:\n%s", w, want, v)
			}
		}
	}
}
