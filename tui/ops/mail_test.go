package ops

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/store"
)

// mailFixture is the golden fixture with the mail of every status: alice's
// trial notice failed for good and bob's card notice sent (the seed), carol's
// payment notice failing and retried later, dave's plan notice not tried yet.
func mailFixture(t *testing.T) (*fixture, map[string]string) {
	t.Helper()
	f := newFixture(t, true)
	ids := seed(t, f)
	retrying, _, err := f.db.AddNotice(store.Notice{AccountID: ids["carol"], Kind: "payment_failed", Key: "in_1",
		Message: "Your payment failed.", CreatedAt: testNow.Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.db.MarkMailed(retrying.ID, testNow.Add(-time.Duration(2-i)*time.Hour), errors.New("smtp: 451 4.7.1 try again later"),
			testNow.Add(time.Duration(i+1)*10*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.db.AddNotice(store.Notice{AccountID: ids["dave"], Kind: "plan_changed", Key: "sub_1/xl",
		Message: "Your plan changed.", CreatedAt: testNow.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	f.load(t)
	return f, ids
}

// The mail tab lists every notice's mail newest first with its status,
// account, creation, tries and next try or sending time, the outbox counts,
// and the selected mail's last error in full.
func TestGoldenMail(t *testing.T) {
	for _, size := range []struct{ w, h int }{{140, 30}, {100, 30}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			f, _ := mailFixture(t)
			d := f.drive(t, size.w, size.h)
			d.keys("6")
			v := d.view()
			shows(t, v, []string{"[6 Mail]", "Outbox: 1 queued, 1 retrying, 1 failed",
				"queued   plan_changed", "dave@example.com", "retrying payment_failed", "next 03-10 12:20",
				"FAILED   trial_will_end", "sent     card_added", "sent 02-18 12:01", "gave up", "q quit"}, nil)
			for i, l := range strings.Split(v, "\n") {
				if w := lipgloss.Width(l); w > size.w {
					t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
				}
			}
			// The newest first: dave's, then carol's, then bob's, then alice's.
			if i, j, k, l := strings.Index(v, "plan_changed"), strings.Index(v, "payment_failed"), strings.Index(v, "card_added"),
				strings.Index(v, "trial_will_end"); i > j || j > k || k > l {
				t.Errorf("not newest first:\n%s", v)
			}
			d.keys("down")
			if v := d.view(); !strings.Contains(v, "last error: smtp: 451 4.7.1 try again later") ||
				!strings.Contains(v, "in outbox, 2 failed tries, next try 2026-03-10 12:20") {
				t.Errorf("the selected retrying mail's detail:\n%s", v)
			}
			golden(t, fmt.Sprintf("%dx%d_mail", size.w, size.h), v)
		})
	}
}

// r re-sends a failed mail after a confirmation: the same notice is back in
// the outbox, due at once, and the admin's action is audited.
func TestMailTabResendsFailedMail(t *testing.T) {
	f, ids := mailFixture(t)
	d := f.drive(t, 140, 30)
	d.keys("6", "down", "down", "down")
	v := d.view()
	if !strings.Contains(v, "> FAILED   trial_will_end") || !strings.Contains(v, "• r re-send") {
		t.Fatalf("the failed mail is not selected or r not offered:\n%s", v)
	}
	d.keys("r")
	if v := d.view(); !strings.Contains(v, "Send the trial_will_end notice to alice@example.com again") {
		t.Fatalf("no confirmation:\n%s", v)
	}
	d.keys("n")
	if n, _ := f.db.Notices(ids["alice"]); n[0].MailStatus() != store.MailFailed {
		t.Fatalf("declined, yet the mail is %s", n[0].MailStatus())
	}
	d.keys("r", "y")
	ns, err := f.db.Notices(ids["alice"])
	if err != nil || len(ns) != 1 || ns[0].MailStatus() != store.MailQueued || ns[0].MailTries != 0 {
		t.Fatalf("after re-send: %+v, %v", ns, err)
	}
	e := lastAudit(t, f.db, ids["alice"])
	if e.Actor != adminFP || !strings.HasPrefix(e.Action, "resend_notice notice="+ns[0].ID) ||
		diffSummary(e.Before, e.After) != "mail=failed→queued" {
		t.Fatalf("audit entry %+v", e)
	}
	v = d.view()
	shows(t, v, []string{"trial_will_end notice queued again for alice@example.com", "Outbox: 2 queued, 1 retrying, 0 failed",
		"> queued   trial_will_end"}, nil)
}

// A queued or retrying mail is still on its way: r is neither offered nor
// acted on. A sent one can be sent again.
func TestMailTabResendOnlyWhenDone(t *testing.T) {
	f, ids := mailFixture(t)
	d := f.drive(t, 140, 30)
	d.keys("6")
	for _, sel := range []string{"> queued", "> retrying"} {
		v := d.view()
		if !strings.Contains(v, sel) || strings.Contains(v, "• r re-send") {
			t.Errorf("on %q re-send is offered:\n%s", sel, v)
		}
		d.keys("r")
		if v := d.view(); strings.Contains(v, "Send the") {
			t.Errorf("r on %q asks to send:\n%s", sel, v)
		}
		d.keys("down")
	}
	d.keys("r", "y")
	if ns, _ := f.db.Notices(ids["bob"]); len(ns) != 1 || ns[0].MailStatus() != store.MailQueued {
		t.Errorf("re-send of a sent mail: %+v", ns)
	}
}

// countingMail records how many mails each of the mail tab's page reads
// returned.
type countingMail struct {
	store.Store
	reads []int
}

func (c *countingMail) MailPage(before string, limit int) ([]store.Notice, string, error) {
	ns, next, err := c.Store.MailPage(before, limit)
	c.reads = append(c.reads, len(ns))
	return ns, next, err
}

// The mail tab pages through many mails newest first, a page per read.
func TestMailTabPages(t *testing.T) {
	f := newFixture(t, true)
	a, err := f.db.CreateAccount("many@example.com", store.Key{Fingerprint: "SHA256:many", PublicKey: "ssh-ed25519 AAAA"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if _, _, err := f.db.AddNotice(store.Notice{AccountID: a.ID, Kind: store.NoticeKind(fmt.Sprintf("kind%02d", i)), Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	f.load(t)
	cm := &countingMail{Store: f.ops.cfg.Store}
	f.ops.cfg.Store = cm
	d := f.drive(t, 100, 24) // 10 mails a page
	d.keys("6")
	for p, want := range []struct{ first, last, from, to string }{
		{"kind24", "kind15", "1", "10"}, {"kind14", "kind05", "11", "20"}, {"kind04", "kind00", "21", "25"},
	} {
		v := d.view()
		if !strings.Contains(v, want.first) || !strings.Contains(v, want.last) || !strings.Contains(v, "· "+want.from+"–"+want.to) {
			t.Fatalf("page %d is not %s–%s:\n%s", p+1, want.first, want.last, v)
		}
		d.keys("pgdown")
	}
	if v := d.view(); strings.Contains(v, "(older") || !strings.Contains(v, "kind00") {
		t.Errorf("pgdn on the last page:\n%s", v)
	}
	d.keys("pgup")
	if v := d.view(); !strings.Contains(v, "kind14") || strings.Contains(v, "kind04") {
		t.Errorf("pgup from the last page:\n%s", v)
	}
	for _, n := range cm.reads {
		if n > 10 {
			t.Errorf("a page read returned %d mails (reads %v), more than the page", n, cm.reads)
		}
	}
}
