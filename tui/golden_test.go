package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// goldenSizes are the window sizes every screen is pinned at: the classic
// terminal and a narrow one.
var goldenSizes = []struct{ w, h int }{{80, 24}, {48, 20}}

const sandboxURL = "http://127.0.0.1:8080/sandbox/checkout/cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ01"

var errStripeDown = &billing.Error{Op: "CardLink", Msg: "The payment provider is unavailable. Please try again shortly.",
	Err: errors.New("stripe: 503")}

// pickMWithTrialUsed picks M on the first plan picker of an account whose
// trial is used: billing asks for a card, and the add-card screen that
// follows will get a Checkout link.
func pickMWithTrialUsed(h *harness) *harness {
	h.fb.err = billing.ErrCardRequired
	h.load(trialUsedAccount()).keys("3", "enter")
	h.fb.err = nil
	h.fb.link = billing.Link{URL: sandboxURL}
	return h
}

// goldenCases build each screen in each state through the root model.
var goldenCases = []struct {
	name  string
	build func(h *harness)
}{
	{"register", func(h *harness) { h.send(accountLoadedMsg{NotFound: true}) }},
	{"register-invalid", func(h *harness) { h.send(accountLoadedMsg{NotFound: true}); h.keys("you@localhost", "enter") }},
	{"store-error", func(h *harness) { h.send(accountLoadedMsg{Err: errors.New("bbolt: timeout")}) }},
	{"picker-first", func(h *harness) { h.load(newAccount()) }},
	{"picker-first-typeahead-xx", func(h *harness) { h.load(newAccount()).keys("x", "x") }},
	{"picker-first-trial-used", func(h *harness) { h.load(trialUsedAccount()).keys("3") }},
	{"picker-first-trial-pending", func(h *harness) {
		// Stripe did not answer the trial request: the trial may still come.
		a := newAccount()
		a.TrialUsed, a.TrialClaimedAt = true, fixedNow.Add(-time.Minute)
		h.fb.err = &billing.Error{Op: "ChoosePlan", Msg: "Your trial is still being set up with Stripe. Try again in a few minutes.",
			Err: billing.ErrTrialPending}
		h.load(a).keys("3", "enter")
	}},
	{"picker-first-error", func(h *harness) {
		h.fb.err = &billing.Error{Op: "ChoosePlan", Msg: "The payment provider is busy. Please try again in a minute.",
			Err: errors.New("429")}
		h.load(newAccount()).keys("enter")
	}},
	{"picker-change", func(h *harness) { h.load(activeAccount()).keys("p", "down") }},
	{"dashboard-free", func(h *harness) { h.load(freeAccount()) }},
	{"dashboard-trial", func(h *harness) { h.load(trialAccount()) }},
	{"dashboard-trial-help", func(h *harness) { h.load(trialAccount()).keys("?") }},
	{"dashboard-trial-ending", func(h *harness) {
		h.fb.Set(trialEnd.Add(-3*24*time.Hour + 20*time.Minute))
		h.load(trialAccount(), store.Notice{Kind: "trial_will_end", CreatedAt: h.fb.Now(),
			Message: "Your M trial ends on Tue 9 Dec. Add a card to keep it."})
	}},
	{"dashboard-trial-last-hour", func(h *harness) {
		h.fb.Set(trialEnd.Add(-(42*time.Minute + 7*time.Second)))
		h.load(trialAccount())
	}},
	{"dashboard-trial-card", func(h *harness) {
		h.load(withCard(trialAccount()), store.Notice{Kind: "card_added", CreatedAt: fixedNow.Add(-time.Minute),
			Message: "Card added: Visa •••• 4242."}, store.Notice{Kind: "trial_will_end", CreatedAt: fixedNow.Add(-time.Hour),
			Message: "Your M trial ends on Tue 9 Dec. Add a card to keep it."})
	}},
	{"dashboard-active", func(h *harness) { h.load(activeAccount()) }},
	{"dashboard-plan-changed-twice", func(h *harness) {
		h.load(activeAccount(),
			store.Notice{Kind: "plan_changed", Key: "sub_1:1766000000:s>m", CreatedAt: fixedNow.Add(-time.Minute),
				Message: "Your plan changed from S to M."},
			store.Notice{Kind: "plan_changed", Key: "sub_1:1766000000:free>s", CreatedAt: fixedNow.Add(-time.Hour),
				Message: "Your plan changed from Free to S."},
			store.Notice{Kind: "card_added", CreatedAt: fixedNow.Add(-time.Hour), Message: "Card added: Visa •••• 4242."})
	}},
	{"dashboard-card-replaced-again", func(h *harness) {
		// The card_added notice of this period named the card before: the
		// banner names the card on file.
		h.load(activeAccount(), store.Notice{Kind: "card_added", Key: "mastercard:4444", CreatedAt: fixedNow.Add(-time.Minute),
			Message: "Card added: Mastercard •••• 4444."})
	}},
	{"dashboard-plan-changed-then-canceling", func(h *harness) {
		a := cancelingAccount()
		h.load(a, store.Notice{Kind: "plan_changed", Key: "sub_1:1766000000:s>m", CreatedAt: fixedNow.Add(-time.Minute),
			Message: "Your plan changed from S to M."})
	}},
	{"dashboard-free-trial-used", func(h *harness) {
		a := freeAccount()
		a.TrialUsed = true
		h.load(a)
	}},
	{"dashboard-canceling", func(h *harness) { h.load(cancelingAccount()) }},
	{"dashboard-downgrade-scheduled", func(h *harness) {
		a := activeAccount()
		a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = "sub_sched_1", "s", a.CurrentPeriodEnd
		a.NextInvoiceAmount = 900
		h.load(a)
	}},
	{"dashboard-payment-action", func(h *harness) { h.load(actionAccount()) }},
	{"confirm-payment", func(h *harness) { h.load(actionAccount()).keys("o") }},
	{"confirm-payment-qr", func(h *harness) { h.load(actionAccount()).keys("o", "v") }},
	{"dashboard-undo-error", func(h *harness) {
		a := cancelingAccount()
		h.fb.err = &billing.Error{Op: "UndoCancel", Msg: "The payment provider is unavailable. Please try again shortly.",
			Err: errors.New("503")}
		h.load(a).keys("u")
	}},
	{"keys", func(h *harness) { h.load(twoKeys(freeAccount())).keys("k") }},
	{"keys-remove-this-key", func(h *harness) { h.load(twoKeys(freeAccount())).keys("k", "d") }},
	{"keys-only-one", func(h *harness) { h.load(freeAccount()).keys("k", "d") }},
	{"email", func(h *harness) { h.load(freeAccount()).keys("e", "x@y") }},
	{"register-code", func(h *harness) { h.send(accountLoadedMsg{NotFound: true}); h.keys("tab") }},
	{"dashboard-past-due", func(h *harness) {
		a := pastDueAccount()
		h.load(a, store.Notice{Kind: "payment_failed", CreatedAt: fixedNow, Message: "Your payment of $29.00 failed. Fix your card to keep M."})
	}},
	{"dashboard-past-due-no-card", func(h *harness) {
		a := pastDueAccount()
		a.HasCard, a.CardBrand, a.CardLast4, a.PaymentMethodID = false, "", "", ""
		h.load(a, store.Notice{Kind: "payment_failed", CreatedAt: fixedNow, Message: "A payment of $29.00 for your M plan is due and there is no card to charge. Add a card to pay it."})
	}},
	{"dashboard-past-due-retries-over", func(h *harness) {
		a := activeAccount()
		a.State, a.SubscriptionStatus, a.AmountDue, a.RetriesOver = store.StatePastDue, "past_due", 2900, true
		h.load(a, store.Notice{Kind: "payment_failed", CreatedAt: fixedNow, Message: "Your payment of $29.00 failed. Fix your card to keep M."})
	}},
	{"dashboard-payment-pending", func(h *harness) {
		a := activeAccount()
		a.PaymentPending = true
		h.load(a)
	}},
	{"locked-trial-ended", func(h *harness) {
		a := pausedAccount()
		h.fb.Set(trialEnd.Add(time.Hour))
		h.load(a)
	}},
	{"locked-unpaid", func(h *harness) {
		a := activeAccount()
		// As Derive leaves an unpaid account: nothing upcoming, the open invoice owed.
		a.State, a.SubscriptionStatus, a.AmountDue = store.StateLockedUnpaid, "unpaid", 2900
		a.NextInvoiceAt, a.NextInvoiceAmount = time.Time{}, 0
		h.load(a).keys("down")
	}},
	{"locked-canceled", func(h *harness) { h.load(canceledAccount()) }},
	{"locked-free-error", func(h *harness) {
		a := pausedAccount()
		h.fb.err = errStripeDown
		h.load(a).keys("f", "y")
	}},
	{"invoices", func(h *harness) {
		h.fb.invoices = testInvoices()
		h.load(activeAccount()).keys("i")
	}},
	{"invoices-link", func(h *harness) {
		h.fb.invoices = testInvoices()
		h.fb.link = billing.Link{URL: "http://127.0.0.1:8080/l/abcdefghij"}
		h.load(activeAccount()).keys("i", "down", "enter")
	}},
	{"invoices-none", func(h *harness) { h.load(activeAccount()).keys("i") }},
	{"locked-free-confirm", func(h *harness) { h.load(pausedAccount()).keys("f") }},
	{"addcard-loading", func(h *harness) {
		h.load(trialAccount())
		h.fb.err = errors.New("never returned")
		h.m.screen = newAddCardScreen(h.e, trialAccount(), "")
	}},
	{"addcard-waiting", func(h *harness) {
		h.fb.link = billing.Link{URL: sandboxURL, ExpiresAt: fixedNow.Add(24 * time.Hour), SessionID: "cs_test"}
		h.load(trialAccount()).keys("c")
		h.fire()
	}},
	{"addcard-qr", func(h *harness) {
		h.fb.link = billing.Link{URL: sandboxURL, ExpiresAt: fixedNow.Add(24 * time.Hour)}
		h.load(trialAccount()).keys("c", "v")
	}},
	{"addcard-expired", func(h *harness) {
		h.fb.link = billing.Link{URL: sandboxURL, ExpiresAt: fixedNow.Add(time.Minute)}
		h.load(trialAccount()).keys("c")
		h.fb.Set(fixedNow.Add(2 * time.Minute))
		h.fire()
	}},
	{"addcard-error", func(h *harness) {
		h.fb.err = errStripeDown
		h.load(trialAccount()).keys("c")
	}},
	{"addcard-done", func(h *harness) {
		h.fb.link = billing.Link{URL: sandboxURL}
		h.load(trialAccount()).keys("c")
		h.load(withCard(trialAccount()))
	}},
	{"addcard-fix-unpaid", func(h *harness) {
		a := activeAccount()
		a.State, a.SubscriptionStatus = store.StateLockedUnpaid, "unpaid"
		h.fb.link = billing.Link{URL: sandboxURL}
		h.load(a).keys("c")
	}},
	{"addcard-plan-after-trial", func(h *harness) { pickMWithTrialUsed(h).keys("n") }},
	{"addcard-plan-done", func(h *harness) {
		// Checkout bought M with the trial used: the screen says the plan is
		// on and what was paid, not only "Card saved".
		pickMWithTrialUsed(h)
		h.fb.invoices = []billing.Invoice{{ID: "in_9", Number: "A1B2C3-0009", Date: fixedNow, Plan: "M", Amount: 2900,
			Currency: "usd", Status: "paid"}}
		h.keys("n")
		paid := activeAccount()
		paid.TrialUsed, paid.SubscriptionID = true, "sub_bought"
		h.load(paid)
	}},
	{"changeplan-upgrade", func(h *harness) {
		h.fb.preview = billing.Preview{PlanID: "xl", Upgrade: true, AmountDue: 3333, Currency: "usd", NextAmount: 7900,
			NextAt: activeAccount().CurrentPeriodEnd}
		h.load(activeAccount()).keys("p", "4", "enter")
	}},
	{"changeplan-trial", func(h *harness) {
		h.fb.preview = billing.Preview{PlanID: "xl", Upgrade: true, Currency: "usd", NextAmount: 7900, NextAt: trialEnd}
		h.load(trialAccount()).keys("p", "x", "enter")
	}},
	{"changeplan-downgrade", func(h *harness) {
		h.fb.preview = billing.Preview{PlanID: "s", Currency: "usd", NextAmount: 900, NextAt: activeAccount().CurrentPeriodEnd}
		h.load(activeAccount()).keys("p", "2", "enter")
	}},
	{"changeplan-downgrade-period-end", func(h *harness) {
		h.fb.preview = billing.Preview{PlanID: "s", Currency: "usd", NextAmount: 900, NextAt: activeAccount().CurrentPeriodEnd, AtPeriodEnd: true}
		h.load(activeAccount()).keys("p", "2", "enter")
	}},
	{"changeplan-to-free", func(h *harness) {
		h.fb.preview = billing.Preview{PlanID: "free", Currency: "usd"}
		h.load(activeAccount()).keys("p", "1", "enter")
	}},
	{"changeplan-start-trial", func(h *harness) {
		h.fb.preview = billing.Preview{PlanID: "s", Upgrade: true, Currency: "usd", NextAmount: 900, NextAt: fixedNow.AddDate(0, 0, 30)}
		h.load(freeAccount()).keys("p", "2", "enter")
	}},
	{"changeplan-preview-error", func(h *harness) {
		h.fb.err = errStripeDown
		h.load(activeAccount()).keys("p", "5", "enter")
	}},
	{"cancel-confirm", func(h *harness) { h.load(activeAccount()).keys("x") }},
	{"cancel-trial-confirm", func(h *harness) { h.load(trialAccount()).keys("x") }},
	{"portal", func(h *harness) {
		h.fb.link = billing.Link{URL: "http://127.0.0.1:8080/sandbox/portal/bps_test_Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1"}
		h.load(activeAccount()).keys("b")
	}},
	{"portal-error", func(h *harness) {
		h.fb.err = errStripeDown
		h.load(activeAccount()).keys("b")
	}},
}

func TestGoldenViews(t *testing.T) {
	for _, tc := range goldenCases {
		for _, size := range goldenSizes {
			name := fmt.Sprintf("%s-%dx%d", tc.name, size.w, size.h)
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, size.w, size.h)
				tc.build(h)
				checkGolden(t, name, h.view())
			})
		}
	}
}

// minimumCases are pinned at the smallest window the portal accepts too:
// what must stay in view there is the field being typed in and every plan.
var minimumCases = map[string]bool{
	"register": true, "register-invalid": true, "picker-first": true, "picker-first-error": true,
	"picker-change": true, "addcard-qr": true,
}

func TestGoldenMinimum(t *testing.T) {
	for _, tc := range goldenCases {
		if !minimumCases[tc.name] {
			continue
		}
		name := fmt.Sprintf("%s-%dx%d", tc.name, minWidth, minHeight)
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, minWidth, minHeight)
			tc.build(h)
			checkGolden(t, name, h.view())
		})
	}
}

func TestTooSmall(t *testing.T) {
	h := newHarness(t, 30, 10)
	h.load(trialAccount())
	checkGolden(t, "too-small-30x10", h.view())
}

// TestGoldenLarge pins a window roomy enough for the QR code beside the
// text, and checks that the code drawn there scans.
func TestGoldenLarge(t *testing.T) {
	h := newHarness(t, 120, 40)
	h.fb.link = billing.Link{URL: sandboxURL, ExpiresAt: fixedNow.Add(24 * time.Hour)}
	h.load(trialAccount()).keys("c")
	checkGolden(t, "addcard-waiting-120x40", h.view())
	if got := decodeDrawnQR(t, h.view(), true); got != sandboxURL {
		t.Errorf("QR code on screen decodes to %q, want %q", got, sandboxURL)
	}
}

// testInvoices are an account's invoices, newest first, as billing lists
// them: a paid upgrade, a paid renewal, the trial's $0 start.
func testInvoices() []billing.Invoice {
	return []billing.Invoice{
		{ID: "in_3", Number: "A1B2C3-0003", Date: fixedNow.Add(-2 * 24 * time.Hour), Plan: "M", Amount: 2000, Currency: "usd",
			Status: "paid", URL: "http://127.0.0.1:8080/sandbox/invoice/in_3"},
		{ID: "in_2", Number: "A1B2C3-0002", Date: fixedNow.Add(-10 * 24 * time.Hour), Plan: "S", Amount: 900, Currency: "usd",
			Status: "open", URL: "http://127.0.0.1:8080/sandbox/invoice/in_2"},
		{ID: "in_1", Number: "A1B2C3-0001", Date: fixedNow.Add(-40 * 24 * time.Hour), Plan: "S", Amount: 0, Currency: "usd",
			Status: "paid", URL: "http://127.0.0.1:8080/sandbox/invoice/in_1"},
	}
}

// twoKeys gives a the test key (added an hour ago, in use) and a labelled
// second key used yesterday.
func twoKeys(a store.Account) store.Account {
	a.Keys = []store.Key{
		{Fingerprint: testFingerprint, PublicKey: "ssh-ed25519 AAAAtest", AddedAt: fixedNow.Add(-time.Hour)},
		{Fingerprint: "SHA256:s3c0ndK3yF1ng3rpr1ntBBBBBBBBBBBBBBBBBBBBBBBB", PublicKey: "ecdsa-sha2-nistp256 AAAAsecond",
			Label: "dev@laptop", AddedAt: fixedNow.Add(-48 * time.Hour), LastUsedAt: fixedNow.Add(-24 * time.Hour)},
	}
	return a
}

// TestHelpLineFitsOneLine: on every dashboard at 80×24 and 48×20 the help
// line is one line that ends with the keys to the full help and to quit
// (at 80 columns it used to wrap them onto a second line); the keys it
// leaves out are under ?.
func TestHelpLineFitsOneLine(t *testing.T) {
	for _, size := range goldenSizes {
		for _, a := range []store.Account{trialAccount(), activeAccount(), freeAccount()} {
			h := newHarness(t, size.w, size.h)
			h.load(a)
			lines := strings.Split(strings.TrimRight(h.view(), " \n"), "\n")
			last := strings.TrimSpace(lines[len(lines)-1])
			above := strings.TrimSpace(lines[len(lines)-2])
			if !strings.HasSuffix(last, "? help • q quit") || !strings.HasPrefix(last, "c card") && !strings.HasPrefix(last, "p ") {
				t.Errorf("%dx%d %s: help line %q, want the screen's first keys then '? help • q quit'", size.w, size.h, a.State, last)
			}
			if strings.Contains(above, " • ") {
				t.Errorf("%dx%d %s: help wraps onto two lines: %q / %q", size.w, size.h, a.State, above, last)
			}
			h.keys("?")
			if full := h.view(); !strings.Contains(full, "e email") || !strings.Contains(full, "k keys") {
				t.Errorf("%dx%d %s: the full help lacks a key left off the line:\n%s", size.w, size.h, a.State, full)
			}
		}
	}
}
