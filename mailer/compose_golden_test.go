package mailer

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portal/portal/accounts"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

var update = flag.Bool("update", false, "rewrite mailer/testdata/*.golden from Compose")

// TestComposeGolden pins every mail the portal sends, word for word: one
// golden per notice kind and, where the words depend on it, per account
// state. The messages are billing's, as it writes them. Rewrite with
// go test ./mailer/ -run TestComposeGolden -update, and only where the
// words change on purpose.
func TestComposeGolden(t *testing.T) {
	trialEnd := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	trial := store.Account{ID: "acc_0123456789abcdef", Email: "ada@example.com", Plan: "m", State: store.StateTrial, TrialEnd: trialEnd}
	withCard := trial
	withCard.HasCard, withCard.CardBrand, withCard.CardLast4 = true, "visa", "4242"
	active := withCard
	active.State = store.StateActive
	pastDue, unpaid, pending := active, active, active
	pastDueNoCard := trial
	pastDueNoCard.State = store.StatePastDue
	pastDue.State, unpaid.State, pending.PaymentPending = store.StatePastDue, store.StateLockedUnpaid, true
	locked := trial
	locked.State = store.StateLockedTrialEnded
	for _, tc := range []struct {
		name string
		kind store.NoticeKind
		msg  string
		a    store.Account
	}{
		{"trial_will_end-no-card", billing.NoticeTrialWillEnd, "Your M trial ends on 31 Mar 2026. Add a card to keep your plan.", trial},
		{"trial_will_end-card", billing.NoticeTrialWillEnd, "Your M trial ends on 31 Mar 2026. Your card will then be charged $29.00 a month.", withCard},
		{"key_added", accounts.KindKeyAdded, "A new key was added to your account: SHA256:uN1tT3stK3yF1ng3rpr1ntAAAAAAAAAAAAAAAAAAAAAA (ada@laptop). Not you? Remove it on the keys screen (k).", active},
		{"trial_ended", billing.NoticeTrialEnded, "Your M trial has ended without a card. Add a card to unlock it, or choose the free plan.", locked},
		{"payment_failed-past_due", billing.NoticePaymentFailed, "A payment of $29.00 for your M plan failed. Please update your card.", pastDue},
		{"payment_failed-past_due-no-card", billing.NoticePaymentFailed, "A payment of $29.00 for your M plan is due and there is no card to charge. Add a card to pay it.", pastDueNoCard},
		{"payment_failed-unpaid", billing.NoticePaymentFailed, "A payment of $29.00 for your M plan failed. Please update your card.", unpaid},
		{"upgrade_failed", billing.NoticeUpgradeFailed, "The payment of $33.33 for your change to XL failed, so you stay on M. Update your card and choose XL again to retry.", pending},
		{"card_added", billing.NoticeCardAdded, "Card added: Visa •••• 4242.", withCard},
		{"plan_changed", billing.NoticePlanChanged, "Your plan changed from M to XL.", active},
		{"unknown-kind", "something_new", "Something happened.", active},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compose(store.Notice{Kind: tc.kind, Message: tc.msg}, tc.a)
			got := "Subject: " + c.Subject + "\n\n" + c.Body
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}
