package store

import (
	"fmt"
	"time"
)

// The account's rules: what its fields mean for the screens and for
// billing's own preconditions. Each is decided here once; billing, tui and
// tui/ops read these instead of writing the condition again. The access
// state itself is billing's Derive; these only read what it stored.

// PlanFree is the id of the free plan (billing.PlanFree is this constant).
const PlanFree = "free"

// SubscriptionLive reports whether a subscription in Stripe status status
// may still bill or grant the plan: everything but canceled and
// incomplete_expired (and no status).
func SubscriptionLive(status string) bool {
	switch status {
	case "", "canceled", "incomplete_expired":
		return false
	}
	return true
}

// HasLiveSubscription reports whether the account holds a Stripe
// subscription that can still change (SubscriptionLive).
func (a Account) HasLiveSubscription() bool {
	return a.SubscriptionID != "" && SubscriptionLive(a.SubscriptionStatus)
}

// ShowsNextInvoice reports whether the customer is told the next invoice.
// Derive records it for a trial without a card too (what Stripe would
// charge at the trial end), but no charge follows without a card, so the
// customer's screens do not promise one then. Ops shows the stored fields.
func (a Account) ShowsNextInvoice() bool {
	return a.NextInvoiceAmount > 0 && !a.NextInvoiceAt.IsZero() && (a.State != StateTrial || a.HasCard)
}

// NewCardSince reports whether a shows a card other than before did: one
// where there was none, another brand or last four, or another payment
// method id (the same card entered again is a new payment method). A
// record from before PaymentMethodID existed compares by brand and last
// four only.
func (a Account) NewCardSince(before Account) bool {
	return a.HasCard && (!before.HasCard || a.CardBrand != before.CardBrand || a.CardLast4 != before.CardLast4 ||
		before.PaymentMethodID != "" && a.PaymentMethodID != before.PaymentMethodID)
}

// CanCancel reports whether a cancel at the period end can be asked:
// billing's rule (a live subscription; CancelAtPeriodEnd refuses without
// one) and not already asked. Ops offers exactly this.
func (a Account) CanCancel() bool {
	return a.HasLiveSubscription() && !a.CancelAtPeriodEnd
}

// CustomerCanCancel is CanCancel as the customer's screens offer it (the
// dashboard's key, the cancel confirmation): only in good standing, trial
// or active. A past_due customer is shown the card first, though billing
// (and ops) would cancel.
func (a Account) CustomerCanCancel() bool {
	return a.CanCancel() && (a.State == StateTrial || a.State == StateActive)
}

// CanChangePlan reports whether the customer's dashboard offers a plan
// change: not while canceling (undo first) nor past_due (card first).
// Billing itself refuses only a paid plan on a locked subscription
// (NeedsCardFirst); ops may change any plan.
func (a Account) CanChangePlan() bool {
	return a.State != StateCanceling && a.State != StatePastDue
}

// NeedsCardFirst reports whether the account's subscription is held until a
// card pays or resumes it (paused after a trial without a card, or unpaid):
// billing refuses a change to a paid plan then.
func (a Account) NeedsCardFirst() bool {
	return a.HasLiveSubscription() && (a.SubscriptionStatus == "paused" || a.SubscriptionStatus == "unpaid")
}

// CanAddCard reports whether a card is offered for the account's own
// subscription (a paid plan, live, not canceling): on the dashboard, and
// on the locked screen to unlock a paused or unpaid subscription. Without
// a live subscription the card comes with a plan bought through Checkout.
func (a Account) CanAddCard() bool {
	return a.Plan != PlanFree && a.HasLiveSubscription() && a.State != StateCanceling
}

// CanExtendTrial reports whether a trial extension may be asked: a live
// subscription in trial, or paused after it (billing then checks the
// status Stripe reports).
func (a Account) CanExtendTrial() bool {
	return a.HasLiveSubscription() && (a.SubscriptionStatus == "trialing" || a.SubscriptionStatus == "paused")
}

// CanMoveToFree reports whether moving the account to Free would change
// anything: not on Free already, and not a paid period already set to end
// (Free is then what it moves to).
func (a Account) CanMoveToFree() bool {
	return a.Plan != PlanFree && !(a.SubscriptionStatus == "active" && a.CancelAtPeriodEnd)
}

// AuditSummary is the account in one line of key=value pairs, the
// "before" and "after" of an audit entry (ops actions, the reconciler's
// drift): the fields a customer or ops would see change, "-" for none.
// The ops audit tab shows the pairs that differ between the two.
func (a Account) AuditSummary() string {
	s := fmt.Sprintf("plan=%s state=%s card=%t sub=%s status=%s cancel_at_period_end=%t pending=%t trial_used=%t trial_end=%s period_end=%s",
		orDash(a.Plan), orDash(string(a.State)), a.HasCard, orDash(a.SubscriptionID), orDash(a.SubscriptionStatus),
		a.CancelAtPeriodEnd, a.PaymentPending, a.TrialUsed, auditTime(a.TrialEnd), auditTime(a.CurrentPeriodEnd))
	if a.SecondSubscriptionID != "" {
		s += " second_sub=" + a.SecondSubscriptionID
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func auditTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
