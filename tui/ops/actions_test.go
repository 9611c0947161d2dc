package ops

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/store"
)

func lastAudit(tb testing.TB, db *store.DB, accountID string) store.AuditEntry {
	tb.Helper()
	es, err := db.Audit(accountID, 1)
	if err != nil || len(es) == 0 {
		tb.Fatalf("no audit entry for %q: %v", accountID, err)
	}
	return es[0]
}

// TestActionsGoThroughBillingAndAreAudited drives every account action from
// the detail screen with the keys an admin would press and checks the
// billing call, the audit entry and the status line.
func TestActionsGoThroughBillingAndAreAudited(t *testing.T) {
	for _, tc := range []struct {
		name     string
		who      string
		keys     []string
		call     string // with ID for the account id
		action   string
		after    string // a fragment of the audit entry's After
		status   string
		declined []string // the same path answered "n": no call
	}{
		{"extend", "alice", []string{"e", "1", "0", "enter", "y"}, "ExtendTrial ID 10", "extend_trial days=10",
			"trial_end=2026-03-22T12:00:00Z", "Trial of alice@example.com extended: ends 2026-03-22 12:00.", []string{"e", "enter", "n"}},
		{"resync", "frank", []string{"r", "y"}, "Resync ID", "resync", "state=locked_trial_ended", "frank@example.org re-synced: locked: trial ended.", []string{"r", "esc"}},
		{"change plan", "bob", []string{"p", "down", "down", "enter", "y"}, "ChoosePlan ID xl", "change_plan plan=xl", "plan=xl",
			"bob@example.com is now on plan xl.", []string{"p", "enter", "n"}},
		{"free", "frank", []string{"f", "y"}, "ChoosePlan ID free", "move_to_free", "plan=free state=free", "frank@example.org moved to the free plan.", []string{"f", "n"}},
		{"cancel", "bob", []string{"x", "y"}, "CancelAtPeriodEnd ID", "cancel_at_period_end", "cancel_at_period_end=true",
			"bob@example.com cancels at 2026-03-20 12:00.", []string{"x", "q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ids := goldenFixture(t, false)
			id := ids[tc.who]
			d := f.drive(t, 140, 40)
			d.keys("/", tc.who, "enter", "enter")
			d.keys(tc.declined...)
			if calls := f.bill.calls(); len(calls) != 0 {
				t.Fatalf("declined action called billing: %v", calls)
			}
			before, err := f.db.Account(id)
			if err != nil {
				t.Fatal(err)
			}
			d.keys(tc.keys...)
			want := strings.ReplaceAll(tc.call, "ID", id)
			if calls := f.bill.calls(); !slices.Equal(calls, []string{want}) {
				t.Fatalf("billing calls %v, want [%s]", calls, want)
			}
			e := lastAudit(t, f.db, id)
			if e.Actor != adminFP || e.Action != tc.action || !e.At.Equal(testNow) {
				t.Errorf("audit = %+v", e)
			}
			if e.Before != before.AuditSummary() {
				t.Errorf("audit before = %q, want %q", e.Before, before.AuditSummary())
			}
			if !strings.Contains(e.After, tc.after) {
				t.Errorf("audit after = %q, want it to contain %q", e.After, tc.after)
			}
			if v := d.view(); !strings.Contains(v, tc.status) {
				t.Errorf("status %q not shown:\n%s", tc.status, v)
			}
		})
	}
}

func TestFailedActionIsAuditedAndShown(t *testing.T) {
	f, ids := goldenFixture(t, false)
	f.bill.fail = errors.New("stripe: card_declined")
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter", "r", "y")
	e := lastAudit(t, f.db, ids["alice"])
	if e.Action != "resync" || e.After != "error: stripe: card_declined" {
		t.Fatalf("audit = %+v", e)
	}
	if v := d.view(); !strings.Contains(v, "Failed: stripe: card_declined") {
		t.Fatalf("error not shown:\n%s", v)
	}
}

func TestNumberDialogRejectsOutOfRange(t *testing.T) {
	f, _ := goldenFixture(t, false)
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter", "e", "0", "enter")
	if v := d.view(); !strings.Contains(v, "Enter a whole number from 1 to 365.") {
		t.Fatalf("no range error:\n%s", v)
	}
	d.keys("y") // typed into the field, not a confirmation
	d.keys("enter", "y")
	if calls := f.bill.calls(); len(calls) != 0 {
		t.Fatalf("billing called with a bad number: %v", calls)
	}
	d.keys("esc")
	if v := d.view(); strings.Contains(v, "Extend the trial") {
		t.Fatalf("dialog still open after esc:\n%s", v)
	}
}

func TestResendNoticeRequeuesIt(t *testing.T) {
	f, ids := goldenFixture(t, false)
	before, err := f.db.Notices(ids["bob"])
	if err != nil || len(before) != 1 || before[0].MailedAt.IsZero() {
		t.Fatalf("fixture: bob's notices = %+v, %v; want one, mailed", before, err)
	}
	d := f.drive(t, 140, 40)
	d.keys("/", "bob", "enter", "enter", "n", "enter", "y")
	ns, err := f.db.Notices(ids["bob"])
	if err != nil {
		t.Fatal(err)
	}
	// The same notice, back in the outbox: the customer does not see it twice.
	if len(ns) != 1 || ns[0].ID != before[0].ID || !ns[0].MailedAt.IsZero() || ns[0].Message != "Card added." {
		t.Fatalf("notices after re-send: %+v", ns)
	}
	out, err := f.db.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(out, func(n store.Notice) bool { return n.ID == ns[0].ID }) {
		t.Fatalf("notice not back in the outbox: %+v", out)
	}
	e := lastAudit(t, f.db, ids["bob"])
	if !strings.HasPrefix(e.Action, "resend_notice notice="+ns[0].ID) || !strings.Contains(e.After, ns[0].ID+" kind=card_added mail=queued") ||
		!strings.Contains(e.Before, "mail=sent mailed_at=") {
		t.Fatalf("audit = %+v", e)
	}
}

func TestRetryFailedEventResyncsItsAccount(t *testing.T) {
	f, ids := goldenFixture(t, false)
	d := f.drive(t, 140, 30)
	d.keys("3", "down", "r") // the second event is processed: nothing to retry
	if strings.Contains(d.view(), "Retry event") {
		t.Fatal("retry offered for a processed event")
	}
	d.keys("up", "f", "r")
	if v := d.view(); !strings.Contains(v, "Retry event evt_005: re-sync Carol@Example.com from Stripe?") {
		t.Fatalf("no retry prompt:\n%s", v)
	}
	d.keys("y")
	if calls := f.bill.calls(); !slices.Equal(calls, []string{"Resync " + ids["carol"]}) {
		t.Fatalf("billing calls %v", calls)
	}
	if e := lastAudit(t, f.db, ids["carol"]); e.Action != "retry_event event=evt_005" || e.Actor != adminFP {
		t.Fatalf("audit = %+v", e)
	}
}

func TestAdvanceClockIsAudited(t *testing.T) {
	f, _ := goldenFixture(t, true)
	d := f.drive(t, 120, 24)
	d.keys("4", "n", "30", "enter", "y", "h", "y")
	if got, want := f.clock.Now(), testNow.Add(30*24*time.Hour+time.Hour); !got.Equal(want) {
		t.Fatalf("clock = %v, want %v", got, want)
	}
	e := lastAudit(t, f.db, "")
	if e.Action != "advance_clock by=1h0m0s" || e.Before != "2026-04-09 12:00:00" || e.After != "2026-04-09 13:00:00" {
		t.Fatalf("audit = %+v", e)
	}
}

// TestRemovedAdminCannotAct: a key taken out of the admin file while its
// session is open can still look, but its next action is refused (and
// audited nowhere, since nothing happened) and the session ends.
func TestRemovedAdminCannotAct(t *testing.T) {
	f, ids := goldenFixture(t, false)
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter", "r")
	f.admins.set(adminFP, false)
	m, cmd := d.m.Update(runActionMsg{act: action{kind: actResync, accountID: ids["alice"], email: "alice@example.com"}})
	done := cmd()
	if done, ok := done.(actionDoneMsg); !ok || !errors.Is(done.err, errNotAdmin) {
		t.Fatalf("action result %+v", done)
	}
	if _, cmd = m.Update(done); cmd == nil {
		t.Fatal("session not ended")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("session not ended")
	}
	if calls := f.bill.calls(); len(calls) != 0 {
		t.Fatalf("billing called for a removed admin: %v", calls)
	}
}

func TestModelRefusesNonAdmin(t *testing.T) {
	f, _ := goldenFixture(t, false)
	c := testCommon(100, 30)
	c.Identity.Fingerprint = fp("mallory")
	m := f.ops.Model(c)
	if _, ok := m.(deniedModel); !ok {
		t.Fatalf("non-admin got %T", m)
	}
	if !strings.Contains(m.View(), "not an admin") {
		t.Fatalf("view: %q", m.View())
	}
}

func TestPerformUsesADetachedContext(t *testing.T) {
	f, ids := goldenFixture(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the admin's connection dropped after confirming
	done := f.ops.perform(ctx, adminFP, action{kind: actResync, accountID: ids["bob"], email: "bob@example.com"})
	if done.err != nil {
		t.Fatal(done.err)
	}
	if e := lastAudit(t, f.db, ids["bob"]); e.Action != "resync" {
		t.Fatalf("audit = %+v", e)
	}
}

func TestOneActionAtATime(t *testing.T) {
	f, ids := goldenFixture(t, false)
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter")
	// Start an action without letting it finish, then ask for another.
	m, cmd := d.m.Update(runActionMsg{act: action{kind: actResync, accountID: ids["alice"], email: "alice@example.com"}})
	d.m = m
	d.keys("x")
	if v := d.view(); strings.Contains(v, "Cancel the subscription") || !strings.Contains(v, "still running") {
		t.Fatalf("second dialog opened while an action runs:\n%s", v)
	}
	d.send(cmd())
	d.keys("x")
	if v := d.view(); !strings.Contains(v, "Cancel the subscription of alice@example.com") {
		t.Fatalf("no dialog after the action finished:\n%s", v)
	}
}

// Audit entries say when the admin acted, on the store's wall clock, not on
// the billing clock the views compare trial times with (which the sandbox
// moves).
func TestAuditUsesTheStoreClock(t *testing.T) {
	f, ids := goldenFixture(t, false)
	f.ops.cfg.Now = func() time.Time { return testNow.Add(days(40)) } // the billing clock ran ahead
	d := f.drive(t, 140, 40)
	d.keys("/", "bob", "enter", "enter", "x", "y")
	if e := lastAudit(t, f.db, ids["bob"]); !e.At.Equal(testNow) {
		t.Errorf("audit at %v, want the store's %v", e.At, testNow)
	}
}

// The detail screen offers an action only where billing can do something
// with it: no trial to extend on a paid or free plan, nothing to cancel or
// move to Free twice, no notice to re-send on an account without notices.
// A key it does not offer opens nothing.
func TestDetailOffersOnlyWhatApplies(t *testing.T) {
	for _, tc := range []struct {
		who       string
		offer     []string
		notOffer  []string
		deadKeys  []string // keys that must not open a dialog
		dialogKey string   // a key that must
	}{
		{"alice", []string{"extend trial", "move to free", "cancel at period end", "re-send notice"}, nil, nil, "e"},
		{"bob", []string{"move to free", "cancel at period end", "re-send notice"}, []string{"extend trial"}, []string{"e"}, "x"},
		{"dave", []string{"resync", "change plan"}, []string{"extend trial", "move to free", "cancel at period end", "re-send notice"},
			[]string{"e", "f", "x", "n"}, "r"},
		{"grace", []string{"resync"}, []string{"extend trial", "move to free", "cancel at period end"}, []string{"e", "f", "x"}, "p"},
		{"frank", []string{"extend trial", "move to free", "cancel at period end"}, nil, nil, "f"},
	} {
		t.Run(tc.who, func(t *testing.T) {
			f, _ := goldenFixture(t, false)
			d := f.drive(t, 140, 40)
			d.keys("/", tc.who, "enter", "enter", "?")
			shows(t, d.view(), tc.offer, tc.notOffer)
			m := d.m.(*model)
			for _, k := range tc.deadKeys {
				d.keys(k)
				if m.dialog != nil {
					t.Errorf("%q opened a dialog: %s", k, m.dialog.view(m.c.Styles, 100))
					m.dialog = nil
				}
			}
			d.keys(tc.dialogKey)
			if m.dialog == nil {
				t.Errorf("%q opened no dialog", tc.dialogKey)
			}
		})
	}
}

// chooseFreeAtPeriodEnd answers ChoosePlan(free) for an active subscription
// as billing does: cancel at the period end, the plan stays until then.
type chooseFreeAtPeriodEnd struct{ *fakeBilling }

func (c chooseFreeAtPeriodEnd) ChoosePlan(ctx context.Context, id, plan string) (store.Account, error) {
	if err := c.record(ctx, "ChoosePlan %s %s", id, plan); err != nil {
		return store.Account{}, err
	}
	return c.change(id, func(a *store.Account) { a.CancelAtPeriodEnd, a.State = true, store.StateCanceling })
}

// Moving an active paid plan to Free takes effect at the period end; the
// prompt and the status line say so instead of "now" and "moved".
func TestMoveToFreeOfAnActivePlanSaysWhen(t *testing.T) {
	f, ids := goldenFixture(t, false)
	f.ops.cfg.Billing = chooseFreeAtPeriodEnd{f.bill}
	f.edit(t, ids["bob"], func(a *store.Account) {
		a.CurrentPeriodEnd = testNow.Add(10 * 24 * time.Hour)
	})
	f.load(t)
	d := f.drive(t, 140, 40)
	d.keys("/", "bob", "enter", "enter", "f")
	if v := d.view(); !strings.Contains(v, "Move bob@example.com to the free plan when its paid period ends, 2026-03-20 12:00 UTC") {
		t.Fatalf("prompt does not say when:\n%s", v)
	}
	// At 80 columns the prompt wraps, between words, never inside the date.
	narrow := f.drive(t, 80, 24)
	narrow.keys("/", "bob", "enter", "enter", "f")
	if v := narrow.view(); strings.Contains(v, "2026- ") {
		t.Errorf("date split in the prompt:\n%s", v)
	}
	d.keys("y")
	if v := d.view(); !strings.Contains(v, "bob@example.com moves to the free plan at 2026-03-20 12:00.") {
		t.Errorf("status does not say when:\n%s", v)
	}
}

// A failed action's error is wrapped to the window, not cut at its edge.
func TestFailedActionWrapsAtTheEdge(t *testing.T) {
	f, _ := goldenFixture(t, false)
	f.bill.fail = errors.New("billing: Resync: subscription sub_Alice00000001 could not be read, the payment provider answered 503")
	d := f.drive(t, 80, 24)
	d.keys("/", "alice", "enter", "enter", "r", "y")
	v := d.view()
	if !strings.Contains(v, "answered 503") {
		t.Errorf("error cut:\n%s", v)
	}
	for i, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w > 80 {
			t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
		}
	}
}

// A second live subscription of an account shows on its detail screen with
// an action to cancel it, credit or none, confirmed and audited.
func TestCancelSecondSubscription(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keys   []string
		credit bool
	}{
		{"credit", []string{"d", "enter", "y"}, true},
		{"none", []string{"d", "down", "enter", "y"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ids := goldenFixture(t, false)
			id := ids["bob"]
			f.edit(t, id, func(a *store.Account) {
				a.SecondSubscriptionID, a.SecondSubscriptionPlan = "sub_second", "m"
			})
			f.load(t)
			d := f.drive(t, 140, 40)
			d.keys("/", "bob", "enter", "enter")
			if v := d.view(); !strings.Contains(v, "! Second sub  sub_second (m), live at Stripe") || !strings.Contains(v, "d cancel 2nd subscription") {
				t.Fatalf("second subscription not shown:\n%s", v)
			}
			d.keys("d", "esc")
			if calls := f.bill.calls(); len(calls) != 0 {
				t.Fatalf("an abandoned dialog called billing: %v", calls)
			}
			d.keys(tc.keys[:len(tc.keys)-1]...)
			if v := d.view(); !strings.Contains(v, "Cancel the second subscription sub_second of bob@example.com now") {
				t.Fatalf("no confirmation:\n%s", v)
			}
			d.keys(tc.keys[len(tc.keys)-1])
			want := "CancelSecondSubscription " + id + " " + map[bool]string{true: "true", false: "false"}[tc.credit]
			if calls := f.bill.calls(); !slices.Equal(calls, []string{want}) {
				t.Fatalf("billing calls %v, want [%s]", calls, want)
			}
			e := lastAudit(t, f.db, id)
			if e.Action != "cancel_second_subscription subscription=sub_second credit="+map[bool]string{true: "true", false: "false"}[tc.credit] ||
				!strings.Contains(e.Before, "second_sub=sub_second") || strings.Contains(e.After, "second_sub") {
				t.Errorf("audit = %+v", e)
			}
			if v := d.view(); !strings.Contains(v, "Second subscription of bob@example.com canceled.") || strings.Contains(v, "! Second sub") {
				t.Errorf("after the action:\n%s", v)
			}
		})
	}
}

// Facts Stripe reported that ops must act on show on the detail screen: a
// dispute, a customer deleted at Stripe, a payment awaiting 3-D Secure.
func TestDetailShowsStripeFlags(t *testing.T) {
	f, ids := goldenFixture(t, false)
	f.edit(t, ids["bob"], func(a *store.Account) {
		a.DisputeID = "dp_123"
		a.ActionInvoiceID, a.ActionURL = "in_9", "https://pay.example/in_9"
	})
	f.edit(t, ids["frank"], func(a *store.Account) {
		a.DeletedCustomerID, a.CustomerID = a.CustomerID+"_gone", ""
	})
	f.load(t)
	d := f.drive(t, 140, 40)
	d.keys("/", "bob", "enter", "enter")
	shows(t, d.view(), []string{"! Dispute     dp_123: a charge of this customer is disputed", "Awaiting 3DS  in_9 https://pay.example/in_9"}, nil)
	d = f.drive(t, 140, 40)
	d.keys("/", "frank", "enter", "enter")
	if v := d.view(); !strings.Contains(v, "was deleted at Stripe: unlinked, account kept") {
		t.Errorf("frank's detail lacks the deleted customer:\n%s", v)
	}
}

// An admin removes one of an account's keys from the detail screen: the
// store drops it, the audit names it, and the last key is never offered.
func TestRemoveKeyIsAudited(t *testing.T) {
	f, ids := goldenFixture(t, false)
	id := ids["alice"]
	if _, err := f.db.AddKey(id, store.Key{Fingerprint: "SHA256:alicelaptop", PublicKey: "ssh-ed25519 AAAAlaptop", Label: "laptop"}); err != nil {
		t.Fatal(err)
	}
	d := f.drive(t, 140, 40)
	d.keys("/", "alice", "enter", "enter")
	if v := d.view(); !strings.Contains(v, "SHA256:alicelaptop") || !strings.Contains(v, "laptop") {
		t.Fatalf("detail does not list the second key:\n%s", v)
	}
	d.keys("K", "down", "enter", "y")
	a, err := f.db.Account(id)
	if err != nil || len(a.Keys) != 1 || a.Keys[0].Fingerprint == "SHA256:alicelaptop" {
		t.Fatalf("after remove: %+v, %v", a.Keys, err)
	}
	e := lastAudit(t, f.db, id)
	if e.Actor != adminFP || e.Action != "remove_key key=SHA256:alicelaptop" {
		t.Errorf("audit = %+v", e)
	}
	if v := d.view(); !strings.Contains(v, "Key SHA256:alicelaptop removed") {
		t.Errorf("status not shown:\n%s", v)
	}
	// One key left: K offers nothing.
	d.keys("K")
	if v := d.view(); strings.Contains(v, "Remove which key?") {
		t.Errorf("the last key is offered for removal:\n%s", v)
	}
}
