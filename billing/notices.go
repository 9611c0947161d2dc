package billing

import "github.com/portal/portal/store"

// Notice kinds billing raises (store.Notice.Kind): the mailer and the
// dashboard's banners read these. accounts.KindKeyAdded is the one kind
// raised elsewhere.
const (
	NoticeTrialWillEnd  store.NoticeKind = "trial_will_end" // webhook.go: trialWillEndNotice
	NoticePaymentFailed store.NoticeKind = "payment_failed" // events.go: paymentFailedNotice
	NoticeUpgradeFailed store.NoticeKind = "upgrade_failed" // events.go: paymentFailedNotice, a pending upgrade's invoice
	NoticeTrialEnded    store.NoticeKind = "trial_ended"    // commit.go: transitionNotices
	NoticeCardAdded     store.NoticeKind = "card_added"     // commit.go: transitionNotices
	NoticePlanChanged   store.NoticeKind = "plan_changed"   // commit.go: transitionNotices
)
