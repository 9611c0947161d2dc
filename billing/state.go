package billing

import (
	"strings"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// Snapshot is what Derive needs to know about one Stripe subscription, taken
// from a freshly fetched *stripe.Subscription. Every field is optional: a
// snapshot of a half-filled object is still a valid input.
type Snapshot struct {
	ID         string
	CustomerID string
	Status     stripe.SubscriptionStatus
	Created    time.Time

	// PlanID is the catalog plan of the subscription's price, "" when unknown.
	// SnapshotOf fills it from the price lookup key by the default convention
	// (DefaultLookupKey) or the subscription's "plan" metadata; the Service
	// resolves it through its catalog.
	PlanID string
	// CatalogPrice is true when the price's lookup key is a catalog plan's
	// (SnapshotOf: by the default convention; the Service: by its catalog).
	CatalogPrice bool
	// AccountID is the subscription's account_id metadata: the portal
	// account it was made for, "" when the portal did not make it.
	AccountID string
	// Replaces is the subscription this one takes over from: the
	// "replaces" metadata the portal sets when it replaces a subscription
	// itself (ExtendTrial of a paused trial), or the account's own
	// subscription when billing found that one ended (adopt). Derive lets
	// a live subscription other than the account's replace it only then.
	Replaces  string
	LookupKey string
	PriceID   string
	ItemID    string // the subscription item to change on a plan change
	Amount    int64  // per period, all items, minor units
	Currency  string

	// CardKnown is false when neither the subscription's nor the customer's
	// default payment method was visible (not expanded): Derive then keeps the
	// account's card fields.
	CardKnown       bool
	HasCard         bool
	PaymentMethodID string
	CardBrand       string
	CardLast4       string

	CancelAtPeriodEnd  bool
	CancellationReason string // "cancellation_requested", "payment_failed", ...
	TrialStart         time.Time
	TrialEnd           time.Time
	CurrentPeriodEnd   time.Time

	// ScheduleID is the subscription schedule attached to it, "" when none.
	ScheduleID string
	// ScheduleKnown is true when the schedule was expanded (or there is
	// none): ScheduledPlan and ScheduledAt are then Stripe's word on the
	// next phase, whoever made or edited the schedule. False: the
	// snapshot does not say, and Derive keeps what billing recorded.
	ScheduleKnown bool
	// ScheduledPlan is the catalog plan of the schedule's next phase and
	// ScheduledAt its start: the change the schedule will make ("" when
	// the next phase keeps the plan, or there is no next phase).
	// ScheduledLookupKey is that phase's price lookup key.
	ScheduledPlan      string
	ScheduledLookupKey string
	ScheduledAt        time.Time

	// PendingUpdate is true while a pending_if_incomplete change waits for payment.
	PendingUpdate       bool
	LatestInvoiceID     string
	LatestInvoiceStatus string
	// LatestInvoiceRemaining is what is still owed on the latest invoice
	// (amount_remaining), minor units; 0 when it was not expanded.
	LatestInvoiceRemaining int64
	// LatestInvoiceRetriesOver is true when the latest invoice is open,
	// was attempted, and Stripe schedules no further attempt.
	LatestInvoiceRetriesOver bool
}

// SnapshotOf extracts a Snapshot from a subscription, checking every pointer:
// webhook payloads and API responses may carry nulls and unexpanded objects.
// A nil sub gives a zero Snapshot.
func SnapshotOf(sub *stripe.Subscription) Snapshot {
	var s Snapshot
	if sub == nil {
		return s
	}
	s.ID = sub.ID
	s.Status = sub.Status
	s.Created = unixTime(sub.Created)
	s.Currency = string(sub.Currency)
	s.CancelAtPeriodEnd = sub.CancelAtPeriodEnd
	if sub.CancellationDetails != nil {
		s.CancellationReason = string(sub.CancellationDetails.Reason)
	}
	s.TrialStart = unixTime(sub.TrialStart)
	s.TrialEnd = unixTime(sub.TrialEnd)
	s.CurrentPeriodEnd = unixTime(sub.CurrentPeriodEnd)
	s.PendingUpdate = sub.PendingUpdate != nil
	s.setSchedule(sub.Schedule)
	if sub.LatestInvoice != nil {
		s.LatestInvoiceID = sub.LatestInvoice.ID
		s.LatestInvoiceStatus = string(sub.LatestInvoice.Status)
		s.LatestInvoiceRemaining = sub.LatestInvoice.AmountRemaining
		s.LatestInvoiceRetriesOver = sub.LatestInvoice.Status == stripe.InvoiceStatusOpen &&
			sub.LatestInvoice.Attempted && sub.LatestInvoice.NextPaymentAttempt == 0
	}
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			if it == nil || it.Price == nil {
				continue
			}
			qty := it.Quantity
			if qty == 0 {
				qty = 1
			}
			s.Amount += it.Price.UnitAmount * qty
			if s.ItemID == "" {
				s.ItemID, s.PriceID, s.LookupKey = it.ID, it.Price.ID, it.Price.LookupKey
				if s.Currency == "" {
					s.Currency = string(it.Price.Currency)
				}
			}
		}
	}
	if id, ok := strings.CutPrefix(s.LookupKey, "portal_"); ok {
		if id, ok = strings.CutSuffix(id, "_monthly"); ok && id != "" {
			s.PlanID, s.CatalogPrice = id, true
		}
	}
	if sub.Metadata != nil {
		s.AccountID = sub.Metadata["account_id"]
		s.Replaces = sub.Metadata["replaces"]
		if s.PlanID == "" {
			s.PlanID = sub.Metadata["plan"]
		}
	}
	if sub.Customer != nil {
		s.CustomerID = sub.Customer.ID
	}
	// The subscription's own default wins over the customer's, as at Stripe.
	switch {
	case sub.DefaultPaymentMethod != nil && sub.DefaultPaymentMethod.ID != "":
		s.setCard(sub.DefaultPaymentMethod)
	case sub.Customer != nil && sub.Customer.InvoiceSettings != nil:
		s.setCard(sub.Customer.InvoiceSettings.DefaultPaymentMethod)
	}
	return s
}

// setSchedule records the subscription's schedule: its id, and, when it
// was expanded, the phase that follows the current one (the change it
// will make). A schedule that ended (released, canceled, completed)
// schedules nothing.
func (s *Snapshot) setSchedule(sch *stripe.SubscriptionSchedule) {
	if sch == nil || sch.ID == "" {
		return // none: Derive clears any scheduled change
	}
	s.ScheduleID = sch.ID
	if sch.Status == "" && sch.Phases == nil {
		return // an id only: not expanded
	}
	s.ScheduleKnown = true
	var from int64
	switch sch.Status {
	case stripe.SubscriptionScheduleStatusActive:
		if sch.CurrentPhase == nil {
			return
		}
		from = sch.CurrentPhase.EndDate
	case stripe.SubscriptionScheduleStatusNotStarted:
	default:
		return
	}
	for _, ph := range sch.Phases {
		if ph == nil || ph.StartDate == 0 || ph.StartDate < from {
			continue
		}
		for _, it := range ph.Items {
			if it != nil && it.Price != nil {
				s.ScheduledLookupKey = it.Price.LookupKey
				break
			}
		}
		s.ScheduledAt = unixTime(ph.StartDate)
		if id, ok := strings.CutPrefix(s.ScheduledLookupKey, "portal_"); ok {
			if id, ok = strings.CutSuffix(id, "_monthly"); ok && id != "" {
				s.ScheduledPlan = id
			}
		}
		return
	}
}

// setCard records pm as the card; a nil pm means "known: no card".
func (s *Snapshot) setCard(pm *stripe.PaymentMethod) {
	s.CardKnown = true
	if pm == nil || pm.ID == "" {
		return
	}
	s.HasCard = true
	s.PaymentMethodID = pm.ID
	if pm.Card != nil {
		s.CardBrand = string(pm.Card.Brand)
		s.CardLast4 = pm.Card.Last4
	}
}

// applyCard writes the card s saw onto a: the card fields and the payment
// method id, together.
func (s *Snapshot) applyCard(a *store.Account) {
	a.HasCard, a.CardBrand, a.CardLast4, a.PaymentMethodID = s.HasCard, s.CardBrand, s.CardLast4, s.PaymentMethodID
}

// renews records the next invoice, at end, of a subscription that renews
// there; one canceling at its period end renews nowhere (false).
func (s *Snapshot) renews(a *store.Account, end time.Time) bool {
	if s.CancelAtPeriodEnd {
		return false
	}
	a.NextInvoiceAt, a.NextInvoiceAmount = end, s.Amount
	return true
}

// openAmount is what the latest invoice still asks for while it is open:
// the amount a past_due or unpaid customer owes.
func (s *Snapshot) openAmount() int64 {
	if s.LatestInvoiceStatus != string(stripe.InvoiceStatusOpen) {
		return 0
	}
	return s.LatestInvoiceRemaining
}

// BelongsTo reports whether the subscription is the portal's for account
// accountID: its price is a catalog plan's, or the portal made it for that
// account (account_id metadata). Any other subscription of the account's
// Stripe customer (another product of the same company sold to the same
// customer) belongs to another integration and must not change the account.
func (s *Snapshot) BelongsTo(accountID string) bool {
	return s.CatalogPrice || (s.AccountID != "" && s.AccountID == accountID)
}

func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// live is store.SubscriptionLive for a Stripe status.
func live(st stripe.SubscriptionStatus) bool { return store.SubscriptionLive(string(st)) }

// Derive is the one function from Stripe's truth to the account's access
// state (DESIGN.md's table). It returns prev with its billing fields replaced
// from snap and never touches identity fields (ID, Email, Keys, CreatedAt).
// It is pure: no clock, no I/O.
//
// A snapshot with a trial end records it, marks the trial used and clears
// TrialClaimedAt: the trial ChoosePlan claimed is confirmed.
//
// snap == nil means the account has no subscription: the state follows the
// locally chosen plan (none, free, or locked_canceled for a paid plan that
// has no subscription behind it).
//
// A snapshot of another customer, or a terminal snapshot (canceled,
// incomplete_expired) of a subscription that is not the account's current
// one, is stale news and leaves prev unchanged: this is what makes
// out-of-order delivery converge. A snapshot that does not belong to prev
// (see BelongsTo) leaves prev unchanged too.
//
// One subscription per account: while the account's own subscription is
// live, a live snapshot of another one never replaces it (unless it says
// it Replaces it); it is recorded as SecondSubscriptionID for ops instead,
// and cleared when that subscription ends.
func Derive(prev store.Account, snap *Snapshot) store.Account {
	a := prev
	if snap == nil {
		a.SubscriptionID, a.SubscriptionStatus = "", ""
		a.CancelAtPeriodEnd, a.PaymentPending = false, false
		a.CurrentPeriodEnd, a.NextInvoiceAt, a.NextInvoiceAmount = time.Time{}, time.Time{}, 0
		a.AmountDue = 0
		a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = "", "", time.Time{}
		switch a.Plan {
		case "":
			a.State = store.StateNone
		case PlanFree:
			a.State = store.StateFree
		default:
			a.State = store.StateLockedCanceled
		}
		return a
	}
	if prev.CustomerID != "" && snap.CustomerID != "" && snap.CustomerID != prev.CustomerID {
		return prev
	}
	if snap.CustomerID != "" && snap.CustomerID == prev.DeletedCustomerID {
		return prev // news of a customer deleted at Stripe: unlinked for good
	}
	if !snap.BelongsTo(prev.ID) {
		return prev
	}
	if prev.SubscriptionID != "" && snap.ID != prev.SubscriptionID {
		switch {
		case !live(snap.Status) && snap.ID == prev.SecondSubscriptionID:
			a.SecondSubscriptionID, a.SecondSubscriptionPlan = "", ""
			return a
		case !live(snap.Status):
			return prev
		case live(stripe.SubscriptionStatus(prev.SubscriptionStatus)) && snap.Replaces != prev.SubscriptionID:
			a.SecondSubscriptionID, a.SecondSubscriptionPlan = snap.ID, snap.PlanID
			return a
		}
	}
	if snap.ID == a.SecondSubscriptionID {
		a.SecondSubscriptionID, a.SecondSubscriptionPlan = "", ""
	}

	a.SubscriptionID = snap.ID
	a.SubscriptionStatus = string(snap.Status)
	if a.CustomerID == "" {
		a.CustomerID = snap.CustomerID
	}
	if snap.Currency != "" {
		a.Currency = snap.Currency
	}
	if !snap.TrialEnd.IsZero() {
		a.TrialEnd = snap.TrialEnd
		a.TrialUsed = true
		a.TrialClaimedAt = time.Time{}
	}
	if snap.CardKnown {
		snap.applyCard(&a)
	}
	a.CancelAtPeriodEnd = snap.CancelAtPeriodEnd
	a.CurrentPeriodEnd = snap.CurrentPeriodEnd
	a.PaymentPending = snap.PendingUpdate
	if a.ActionInvoiceID != "" && a.ActionInvoiceID == snap.LatestInvoiceID && snap.LatestInvoiceStatus != string(stripe.InvoiceStatusOpen) {
		a.ActionInvoiceID, a.ActionURL = "", "" // paid, voided or written off: nothing to confirm
	}
	a.NextInvoiceAt, a.NextInvoiceAmount = time.Time{}, 0
	a.AmountDue, a.RetriesOver = 0, false
	if snap.PlanID != "" {
		a.Plan = snap.PlanID
	}
	// A scheduled change is the subscription's schedule's next phase, as
	// Stripe has it (made by billing, or made or edited in the Dashboard).
	// Unexpanded, it stands while the subscription keeps the schedule
	// billing recorded. The schedule stays attached through its last phase
	// (until Stripe releases it), so its id is kept while the subscription
	// has it: Stripe refuses a cancel at the period end until it is
	// released.
	switch {
	case snap.ScheduleID == "" || !live(snap.Status):
		a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = "", "", time.Time{}
	case snap.ScheduleKnown:
		a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = snap.ScheduleID, snap.ScheduledPlan, snap.ScheduledAt
		if a.ScheduledPlan == "" {
			a.ScheduledAt = time.Time{}
		}
	case snap.ScheduleID != a.ScheduleID:
		a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = "", "", time.Time{}
	}
	if a.Plan == a.ScheduledPlan {
		a.ScheduledPlan, a.ScheduledAt = "", time.Time{}
	}

	switch snap.Status {
	case stripe.SubscriptionStatusTrialing:
		a.TrialUsed = true
		a.State = store.StateTrial
		if !snap.renews(&a, snap.TrialEnd) {
			a.State = store.StateCanceling
		}
	case stripe.SubscriptionStatusActive:
		a.State = store.StateActive
		if !snap.renews(&a, snap.CurrentPeriodEnd) {
			a.State = store.StateCanceling
		}
	case stripe.SubscriptionStatusPastDue:
		a.State = store.StatePastDue
		a.AmountDue = snap.openAmount()
		a.RetriesOver = snap.LatestInvoiceRetriesOver
		snap.renews(&a, snap.CurrentPeriodEnd)
	case stripe.SubscriptionStatusPaused:
		a.State = store.StateLockedTrialEnded
	case stripe.SubscriptionStatusUnpaid:
		a.State = store.StateLockedUnpaid
		a.AmountDue = snap.openAmount()
	case stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusIncompleteExpired:
		a.CancelAtPeriodEnd, a.PaymentPending = false, false
		a.ActionInvoiceID, a.ActionURL = "", ""
		// The customer chose to leave (or had already picked free): free.
		// Otherwise (dunning, a first payment that never completed) the
		// account waits, with free access, for the customer to choose.
		chose := prev.Plan == PlanFree || prev.State == store.StateCanceling ||
			snap.CancelAtPeriodEnd || snap.CancellationReason == "cancellation_requested"
		if chose {
			a.Plan, a.State = PlanFree, store.StateFree
		} else {
			a.State = store.StateLockedCanceled
		}
	default:
		// incomplete (first payment pending) and statuses this code does not
		// know yet: keep the previous access, flag the payment as pending.
		a.State, a.Plan = prev.State, prev.Plan
		a.PaymentPending = true
	}
	return a
}
