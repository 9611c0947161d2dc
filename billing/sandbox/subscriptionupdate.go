package sandbox

import (
	"sort"
	"strings"
)

// POST /v1/subscriptions/{id} in three steps: parse reads the request
// (parameters, the prices it names), validate checks it against the
// subscription and works out what it costs, and apply changes the
// subscription, bills and emits. Only apply changes anything, so a request
// rejected by the first two leaves no trace (see Sandbox.update).

var subscriptionUpdateSchema = schema{"items[][id]", "items[][price]", "items[][quantity]", "items[][deleted]", "items[][metadata]",
	"items[][metadata][*]", "proration_behavior", "proration_date", "payment_behavior", "cancel_at_period_end", "cancel_at",
	"trial_end", "trial_settings[end_behavior][missing_payment_method]", "default_payment_method", "metadata", "metadata[*]",
	"description", "off_session", "billing_cycle_anchor", "cancellation_details[comment]", "cancellation_details[feedback]",
	"payment_settings[save_default_payment_method]", "expand[]"}

// pendingIfIncompleteParams are the only updates Stripe accepts together
// with payment_behavior=pending_if_incomplete.
var pendingIfIncompleteParams = []string{"items", "proration_behavior", "proration_date", "payment_behavior", "expand",
	"trial_end", "billing_cycle_anchor", "off_session"}

// subscriptionUpdate is a parsed update request.
type subscriptionUpdate struct {
	f *form // for metadata, merged into the subscription's own in validate

	paymentBehavior string // "" when not given
	proration       string // create_prorations when not given
	prorationDate   int64
	hasProrDate     bool
	changes         []itemChange
	cape, hasCAPE   bool // cancel_at_period_end
	cancelAt        int64
	hasCancelAt     bool
	trialEnd        int64
	trialEndNow     bool // trial_end=now
	hasTrialEnd     bool
	missingPM       string  // trial_settings[end_behavior][missing_payment_method]; "" unchanged
	defaultPM       *string // nil unchanged; "" clears

	description, cancelComment, cancelFeedback *string // nil unchanged; "" clears
	saveDefaultPM                              string  // "" unchanged
}

// subscriptionChange is a validated update: the items and metadata the
// subscription will have and what the change bills.
type subscriptionChange struct {
	items      []subItem
	metadata   map[string]string
	prorations []invoiceLine
	immediate  bool // the prorations are invoiced and charged now
}

func (s *Sandbox) updateSubscription(q *request) (any, *apiError) {
	sub, err := byID[*subscription](s, q, "subscription")
	if err != nil {
		return nil, err
	}
	if err := checkEndedUpdate(sub, q.f); err != nil {
		return nil, err
	}
	u, err := s.parseSubscriptionUpdate(q.f)
	if err != nil {
		return nil, err
	}
	ch, err := s.validateSubscriptionUpdate(q.t, sub, u)
	if err != nil {
		return nil, err
	}
	s.applySubscriptionUpdate(q.t, sub, u, ch)
	return sub, nil
}

// checkEndedUpdate refuses all but metadata and cancellation details on a
// subscription that has ended, before anything else is looked at.
func checkEndedUpdate(sub *subscription, f *form) *apiError {
	if sub.Status != "canceled" && sub.Status != "incomplete_expired" {
		return nil
	}
	for k := range f.vals {
		top := splitKey(k)[0]
		if top != "metadata" && top != "cancellation_details" && top != "expand" {
			return invalidRequest(k, "A canceled subscription can only update its cancellation_details and metadata.")
		}
	}
	return nil
}

// parseSubscriptionUpdate reads the parameters: their types, enums, the
// prices items name. Nothing here depends on the subscription.
func (s *Sandbox) parseSubscriptionUpdate(f *form) (*subscriptionUpdate, *apiError) {
	u := &subscriptionUpdate{f: f}
	var err *apiError
	if u.paymentBehavior, err = f.enum("payment_behavior", "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"); err != nil {
		return nil, err
	}
	if u.paymentBehavior == "pending_if_incomplete" {
		keys := make([]string, 0, len(f.vals))
		for k := range f.vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !contains(pendingIfIncompleteParams, splitKey(k)[0]) {
				return nil, invalidRequest(k, "When `payment_behavior=pending_if_incomplete`, you may only update these parameters: %s.", strings.Join(pendingIfIncompleteParams, ", "))
			}
		}
	}
	if u.proration, err = f.enum("proration_behavior", "always_invoice", "create_prorations", "none"); err != nil {
		return nil, err
	}
	if u.proration == "" {
		u.proration = "create_prorations"
	}
	if u.prorationDate, u.hasProrDate, err = f.int("proration_date"); err != nil {
		return nil, err
	}
	if u.changes, err = s.parseItems(f, "items"); err != nil {
		return nil, err
	}
	if u.cape, u.hasCAPE, err = f.bool("cancel_at_period_end"); err != nil {
		return nil, err
	}
	if u.cancelAt, u.hasCancelAt, err = f.int("cancel_at"); err != nil {
		return nil, err
	}
	if u.trialEnd, u.trialEndNow, u.hasTrialEnd, err = f.timeOrNow("trial_end"); err != nil {
		return nil, err
	}
	if u.missingPM, err = f.enum("trial_settings[end_behavior][missing_payment_method]", "cancel", "create_invoice", "pause"); err != nil {
		return nil, err
	}
	u.defaultPM = f.optStr("default_payment_method")
	if _, err := f.enum("billing_cycle_anchor", "now", "unchanged"); err != nil {
		return nil, err
	}
	if _, err := f.enum("cancellation_details[feedback]", "customer_service", "low_quality", "missing_features", "other",
		"switched_service", "too_complex", "too_expensive", "unused"); err != nil {
		return nil, err
	}
	if _, _, err := f.bool("off_session"); err != nil {
		return nil, err
	}
	if u.saveDefaultPM, err = f.enum("payment_settings[save_default_payment_method]", "off", "on_subscription"); err != nil {
		return nil, err
	}
	u.description = f.optStr("description")
	u.cancelComment = f.optStr("cancellation_details[comment]")
	u.cancelFeedback = f.optStr("cancellation_details[feedback]")
	return u, nil
}

// validateSubscriptionUpdate checks u against sub at t.now (the proration
// date within the period, item ids, the trial, the card) and works out the
// new items, the merged metadata and the prorations. It changes nothing
// (new items get ids, but only apply stores them).
func (s *Sandbox) validateSubscriptionUpdate(t *txn, sub *subscription, u *subscriptionUpdate) (*subscriptionChange, *apiError) {
	now := t.now
	if !u.hasProrDate {
		u.prorationDate = now
	} else if u.prorationDate < sub.CurrentPeriodStart || u.prorationDate > sub.CurrentPeriodEnd {
		return nil, invalidRequest("proration_date", "The proration_date must be within the current billing period.")
	}
	items, err := s.mergeItems(t, sub, u.changes)
	if err != nil {
		return nil, err
	}
	if u.hasCancelAt && u.cancelAt <= now {
		return nil, invalidRequest("cancel_at", "cancel_at must be in the future.")
	}
	if u.hasTrialEnd && !u.trialEndNow && (u.trialEnd <= now || u.trialEnd > now+730*day) {
		return nil, invalidRequest("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future, and at most 730 days away.")
	}
	if u.hasTrialEnd && sub.Status != "trialing" && sub.Status != "active" {
		return nil, invalidRequest("trial_end", "A trial can only be set on a trialing or active subscription (this one is %s).", sub.Status)
	}
	if u.defaultPM != nil && *u.defaultPM != "" {
		if err := s.checkCustomerPM(*u.defaultPM, sub.Customer, "default_payment_method"); err != nil {
			return nil, err
		}
	}
	md, err := applyMetadata(sub.Metadata, u.f, "metadata")
	if err != nil {
		return nil, err
	}
	ch := &subscriptionChange{items: items, metadata: md}

	// What the price change costs now, if anything.
	billable := sub.Status == "active" || sub.Status == "past_due"
	if len(u.changes) > 0 && changedPrices(sub.Items.Data, items) && billable && u.proration != "none" {
		ch.prorations = s.prorate(sub, sub.Items.Data, items, u.prorationDate)
	}
	ch.immediate = u.proration == "always_invoice" && len(ch.prorations) > 0 && linesTotal(ch.prorations) > 0
	if ch.immediate && u.paymentBehavior == "error_if_incomplete" {
		pm := s.defaultPM(sub)
		if pm == nil {
			return nil, errNoPaymentMethod
		}
		if pm.FailCharges {
			return nil, cardDeclined("generic_decline", "Your card was declined.")
		}
	}
	return ch, nil
}

// mergeItems applies items[n] changes to a copy of sub's items: new ones
// added, ids replaced or deleted; then Stripe's rules for the whole set.
func (s *Sandbox) mergeItems(t *txn, sub *subscription, changes []itemChange) ([]subItem, *apiError) {
	items := append([]subItem(nil), sub.Items.Data...)
	for _, ch := range changes {
		if ch.id == "" {
			if ch.deleted {
				return nil, paramMissing(ch.idx + "[id]")
			}
			if ch.price == nil {
				return nil, paramMissing(ch.idx + "[price]")
			}
			items = append(items, s.newItem(t, sub.ID, ch))
			continue
		}
		i := -1
		for j, it := range items {
			if it.ID == ch.id {
				i = j
			}
		}
		if i < 0 {
			return nil, invalidRequest(ch.idx+"[id]", "No such subscription item: '%s'", ch.id)
		}
		if ch.deleted {
			items = append(items[:i:i], items[i+1:]...)
			continue
		}
		it := items[i]
		if ch.price != nil && ch.price.ID != it.Price.ID {
			it.Price, it.Plan = *ch.price, planOf(*ch.price)
		}
		if ch.hasQty {
			it.Quantity = ch.quantity
		}
		if len(ch.metadata) > 0 {
			it.Metadata = ch.metadata
		}
		items[i] = it
	}
	if len(changes) > 0 {
		if err := checkItems(items, "items"); err != nil {
			return nil, err
		}
		if items[0].Price.Currency != sub.Currency {
			return nil, invalidRequest("items", "The price's currency (%s) must match the subscription's currency (%s).", items[0].Price.Currency, sub.Currency)
		}
	}
	return items, nil
}

// applySubscriptionUpdate makes a validated change: the fields, the items
// (or a pending update waiting for payment), the prorations invoiced now or
// kept for the next invoice, customer.subscription.updated, and a trial
// ended now or its trial_will_end notice.
func (s *Sandbox) applySubscriptionUpdate(t *txn, sub *subscription, u *subscriptionUpdate, ch *subscriptionChange) {
	now := t.now
	before := s.snap(sub)
	sub.Metadata = ch.metadata
	if u.description != nil {
		sub.Description = nilIfEmpty(*u.description)
	}
	if u.cancelComment != nil {
		sub.CancellationDetails.Comment = nilIfEmpty(*u.cancelComment)
	}
	if u.cancelFeedback != nil {
		sub.CancellationDetails.Feedback = nilIfEmpty(*u.cancelFeedback)
	}
	if u.saveDefaultPM != "" {
		sub.PaymentSettings.SaveDefaultPaymentMethod = u.saveDefaultPM
	}
	if u.missingPM != "" {
		sub.TrialSettings.EndBehavior.MissingPaymentMethod = u.missingPM
	}
	if u.defaultPM != nil {
		sub.DefaultPaymentMethod = nilIfEmpty(*u.defaultPM)
	}
	if u.hasCAPE {
		sub.CancelAtPeriodEnd = u.cape
		if u.cape {
			sub.CancelAt, sub.CanceledAt = ptr(sub.CurrentPeriodEnd), ptr(now)
		} else {
			sub.CancelAt, sub.CanceledAt = nil, nil
		}
	}
	if u.hasCancelAt {
		sub.CancelAt, sub.CanceledAt, sub.CancelAtPeriodEnd = ptr(u.cancelAt), ptr(now), false
	}
	oldItems := sub.Items.Data
	if len(u.changes) > 0 {
		sub.Items.Data, sub.Items.TotalCount = ch.items, int64(len(ch.items))
	}
	if u.hasTrialEnd && !u.trialEndNow {
		sub.Status = "trialing"
		if sub.TrialStart == nil {
			sub.TrialStart = ptr(now)
		}
		sub.TrialEnd = ptr(u.trialEnd)
		sub.CurrentPeriodEnd, sub.BillingCycleAnchor = u.trialEnd, u.trialEnd
	}
	var inv *invoice
	switch {
	case ch.immediate:
		inv = s.newInvoice(t, sub, "subscription_update", ch.prorations, u.prorationDate, u.prorationDate, false)
		sub.LatestInvoice = inv.ID
	case len(ch.prorations) > 0:
		sub.PendingProrations = append(sub.PendingProrations, ch.prorations...)
	}
	s.put(t, sub)
	if inv != nil {
		s.finalize(t, inv)
		if fail := s.collect(t, inv, nil); fail != nil {
			if u.paymentBehavior == "pending_if_incomplete" {
				// The change waits for this invoice to be paid.
				sub.Items.Data, sub.Items.TotalCount = oldItems, int64(len(oldItems))
				sub.PendingUpdate = &pendingUpdate{ExpiresAt: now + incompleteWindow, SubscriptionItems: ch.items, Invoice: *inv.ID}
			} else {
				sub.Status = "past_due"
				s.scheduleRetry(t, inv)
			}
		}
	}
	s.put(t, sub)
	s.emit(t, "customer.subscription.updated", sub, before)
	if u.hasTrialEnd && u.trialEndNow && sub.Status == "trialing" {
		sub.TrialEnd = ptr(now)
		s.endTrial(t, sub)
	} else {
		s.maybeTrialWillEnd(t, sub)
	}
}

func changedPrices(a, b []subItem) bool {
	if len(a) != len(b) {
		return true
	}
	for i := range a {
		if a[i].Price.ID != b[i].Price.ID || a[i].Quantity != b[i].Quantity {
			return true
		}
	}
	return false
}
