package sandbox

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

const trialWillEndLead = 3 * day

// incompleteWindow is how long a first invoice may stay unpaid before the
// subscription becomes incomplete_expired.
const incompleteWindow = 23 * 60 * 60

var subscriptionCreateSchema = schema{"customer", "items[][price]", "items[][quantity]", "items[][metadata]", "items[][metadata][*]",
	"trial_period_days", "trial_end", "trial_settings[end_behavior][missing_payment_method]", "metadata", "metadata[*]",
	"default_payment_method", "payment_behavior", "proration_behavior", "cancel_at_period_end", "description", "off_session",
	"collection_method", "currency", "payment_settings[save_default_payment_method]", "expand[]"}

// itemChange is one parsed items[n] entry.
type itemChange struct {
	idx      string
	id       string
	price    *price
	quantity int64
	hasQty   bool
	deleted  bool
	metadata map[string]string
}

// parseItems reads items[n][...] (or subscription_items[n][...]) and checks
// each price exists and is recurring.
func (s *Sandbox) parseItems(f *form, key string) ([]itemChange, *apiError) {
	var out []itemChange
	for _, i := range f.indices(key) {
		p := key + "[" + i + "]"
		ch := itemChange{idx: p, id: f.str(p + "[id]")}
		if pid := f.str(p + "[price]"); pid != "" {
			pr, ok := get[*price](s.st, pid)
			if !ok {
				return nil, noSuchParam("price", pid, p+"[price]")
			}
			if pr.Recurring == nil {
				return nil, invalidRequest(p+"[price]", "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.")
			}
			if !pr.Active {
				return nil, invalidRequest(p+"[price]", "The price specified is inactive. This field only accepts active prices.")
			}
			ch.price = pr
		}
		q, ok, err := f.int(p + "[quantity]")
		if err != nil {
			return nil, err
		}
		if ok && q < 0 {
			return nil, invalidRequest(p+"[quantity]", "This value must be greater than or equal to 0.")
		}
		ch.quantity, ch.hasQty = q, ok
		d, _, err := f.bool(p + "[deleted]")
		if err != nil {
			return nil, err
		}
		ch.deleted = d
		md, err := applyMetadata(map[string]string{}, f, p+"[metadata]")
		if err != nil {
			return nil, err
		}
		ch.metadata = md
		out = append(out, ch)
	}
	return out, nil
}

func (s *Sandbox) newItem(t *txn, subID string, ch itemChange) subItem {
	q := int64(1)
	if ch.hasQty {
		q = ch.quantity
	}
	md := ch.metadata
	if md == nil {
		md = map[string]string{}
	}
	return subItem{ID: newID("si_", 14), Object: "subscription_item", Created: t.now, Discounts: []string{}, Metadata: md,
		Plan: planOf(*ch.price), Price: *ch.price, Quantity: q, Subscription: subID, TaxRates: []struct{}{}}
}

// checkItems enforces Stripe's rule that a subscription's prices share a
// currency and a billing interval, and never repeat.
func checkItems(items []subItem, param string) *apiError {
	if len(items) == 0 {
		return paramMissing(param)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Price.ID] {
			return invalidRequest(param, "Cannot add multiple subscription items with the same price: %s.", it.Price.ID)
		}
		seen[it.Price.ID] = true
		if it.Price.Currency != items[0].Price.Currency {
			return invalidRequest(param, "All prices on a subscription must have the same currency.")
		}
		if it.Price.Recurring.Interval != items[0].Price.Recurring.Interval || it.Price.Recurring.IntervalCount != items[0].Price.Recurring.IntervalCount {
			return invalidRequest(param, "All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.")
		}
	}
	return nil
}

// checkCustomerPM verifies a payment method belongs to the customer.
func (s *Sandbox) checkCustomerPM(id, customerID, param string) *apiError {
	pm, ok := get[*paymentMethod](s.st, id)
	if !ok || pm.Customer == nil || *pm.Customer != customerID {
		return invalidRequest(param, "The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", id)
	}
	return nil
}

func (s *Sandbox) createSubscription(q *request) (any, *apiError) {
	f, now := q.f, q.t.now
	cid, err := f.required("customer")
	if err != nil {
		return nil, err
	}
	if _, ok := get[*customer](s.st, cid); !ok {
		return nil, noSuchParam("customer", cid, "customer")
	}
	changes, err := s.parseItems(f, "items")
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, paramMissing("items")
	}
	for _, ch := range changes {
		if ch.price == nil {
			return nil, paramMissing(ch.idx + "[price]")
		}
	}
	days, hasDays, err := f.int("trial_period_days")
	if err != nil {
		return nil, err
	}
	if hasDays {
		if err := checkTrialDays("trial_period_days", days, 0); err != nil {
			return nil, err
		}
	}
	te, teNow, hasTE, err := f.timeOrNow("trial_end")
	if err != nil {
		return nil, err
	}
	if hasDays && hasTE {
		return nil, invalidRequest("trial_end", "You cannot set both trial_end and trial_period_days.")
	}
	if hasTE && !teNow && (te <= now || te > now+730*day) {
		return nil, invalidRequest("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future, and at most 730 days away.")
	}
	mpm, err := f.enum("trial_settings[end_behavior][missing_payment_method]", "cancel", "create_invoice", "pause")
	if err != nil {
		return nil, err
	}
	if mpm == "" {
		mpm = "create_invoice"
	}
	pb, err := f.enum("payment_behavior", "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
	if err != nil {
		return nil, err
	}
	if pb == "pending_if_incomplete" {
		return nil, invalidRequest("payment_behavior", "payment_behavior=pending_if_incomplete can only be used when updating a subscription.")
	}
	if pb == "" {
		pb = "allow_incomplete"
	}
	if _, err := f.enum("proration_behavior", "always_invoice", "create_prorations", "none"); err != nil {
		return nil, err
	}
	if cm, err := f.enum("collection_method", "charge_automatically", "send_invoice"); err != nil {
		return nil, err
	} else if cm == "send_invoice" {
		return nil, invalidRequest("collection_method", "The offline sandbox bills subscriptions with collection_method=charge_automatically only.")
	}
	if _, err := f.enum("payment_settings[save_default_payment_method]", "off", "on_subscription"); err != nil {
		return nil, err
	}
	cape, _, err := f.bool("cancel_at_period_end")
	if err != nil {
		return nil, err
	}
	if _, _, err := f.bool("off_session"); err != nil {
		return nil, err
	}
	var dpm *string
	if id := f.str("default_payment_method"); id != "" {
		if err := s.checkCustomerPM(id, cid, "default_payment_method"); err != nil {
			return nil, err
		}
		dpm = &id
	}
	md, err := applyMetadata(map[string]string{}, f, "metadata")
	if err != nil {
		return nil, err
	}
	sub := &subscription{ID: newID("sub_", 24), Object: "subscription", CancellationDetails: cancellationDetails{},
		CollectionMethod: "charge_automatically", Created: now, Customer: cid, DefaultPaymentMethod: dpm, DefaultTaxRates: []struct{}{},
		Description: f.optStr("description"), Metadata: md, StartDate: now, CancelAtPeriodEnd: cape}
	sub.PaymentSettings.SaveDefaultPaymentMethod = "off"
	if v := f.str("payment_settings[save_default_payment_method]"); v != "" {
		sub.PaymentSettings.SaveDefaultPaymentMethod = v
	}
	sub.TrialSettings.EndBehavior.MissingPaymentMethod = mpm
	items := make([]subItem, 0, len(changes))
	for _, ch := range changes {
		items = append(items, s.newItem(q.t, sub.ID, ch))
	}
	if err := checkItems(items, "items"); err != nil {
		return nil, err
	}
	sub.Currency = items[0].Price.Currency
	if c := f.str("currency"); c != "" && c != sub.Currency {
		return nil, invalidRequest("currency", "The currency %s does not match the currency of the prices (%s).", c, sub.Currency)
	}
	sub.Items = listOf[subItem]{Object: "list", Data: items, TotalCount: int64(len(items)), URL: "/v1/subscription_items?subscription=" + sub.ID}

	trialEnd := int64(0)
	switch {
	case hasDays && days > 0:
		trialEnd = now + days*day
	case hasTE && !teNow:
		trialEnd = te
	}
	iv := items[0].Price.Recurring
	if trialEnd > 0 {
		sub.Status = "trialing"
		sub.TrialStart, sub.TrialEnd = ptr(now), ptr(trialEnd)
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd, sub.BillingCycleAnchor = now, trialEnd, trialEnd
	} else {
		sub.CurrentPeriodStart, sub.BillingCycleAnchor = now, now
		sub.CurrentPeriodEnd = periodEnd(now, iv.Interval, iv.IntervalCount, 1)
		// error_if_incomplete must leave nothing behind when the first
		// payment would fail; card outcomes are deterministic, so check first.
		if pb == "error_if_incomplete" {
			var total int64
			for _, it := range items {
				total += it.Price.UnitAmount * it.Quantity
			}
			pm := s.defaultPM(sub)
			if total > 0 && pm == nil {
				return nil, errNoPaymentMethod
			}
			if total > 0 && pm.FailCharges {
				return nil, cardDeclined("generic_decline", "Your card was declined.")
			}
		}
		sub.Status = "incomplete"
	}
	if sub.CancelAtPeriodEnd {
		sub.CancelAt, sub.CanceledAt = ptr(sub.CurrentPeriodEnd), ptr(now)
	}
	inv := s.newInvoice(q.t, sub, "subscription_create", s.subscriptionLines(sub, items, sub.CurrentPeriodStart, sub.CurrentPeriodEnd, trialEnd > 0),
		sub.CurrentPeriodStart, sub.CurrentPeriodStart, false)
	sub.LatestInvoice = inv.ID
	s.put(q.t, sub)
	s.emit(q.t, "customer.subscription.created", sub, nil)
	s.finalize(q.t, inv)
	if sub.Status == "trialing" {
		s.markPaid(q.t, inv)
		s.maybeTrialWillEnd(q.t, sub)
		return sub, nil
	}
	before := s.snap(sub)
	if pb == "default_incomplete" && inv.AmountDue > 0 {
		sub.IncompleteExpiresAt = now + incompleteWindow
		s.put(q.t, sub)
		return sub, nil
	}
	if fail := s.collect(q.t, inv, nil); fail != nil {
		sub.IncompleteExpiresAt = now + incompleteWindow
		s.put(q.t, sub)
		return sub, nil
	}
	sub.Status = "active"
	s.put(q.t, sub)
	s.emit(q.t, "customer.subscription.updated", sub, before)
	return sub, nil
}

// maybeTrialWillEnd emits customer.subscription.trial_will_end once per
// trial end, 3 days ahead (at once for shorter trials).
func (s *Sandbox) maybeTrialWillEnd(t *txn, sub *subscription) {
	if sub.Status != "trialing" || sub.TrialEnd == nil || sub.TrialWillEndSentFor == *sub.TrialEnd {
		return
	}
	if t.now < *sub.TrialEnd-trialWillEndLead {
		return
	}
	sub.TrialWillEndSentFor = *sub.TrialEnd
	s.put(t, sub)
	s.emit(t, "customer.subscription.trial_will_end", sub, nil)
}

func (s *Sandbox) retrieveSubscription(q *request) (any, *apiError) {
	sub, ok := get[*subscription](s.st, q.id())
	if !ok {
		return nil, noSuch("subscription", q.id())
	}
	return sub, nil
}

var subscriptionListSchema = schema{"customer", "price", "status", "collection_method", "created", "created[gt]", "created[gte]",
	"created[lt]", "created[lte]", "limit", "starting_after", "ending_before", "expand[]"}

func (s *Sandbox) listSubscriptions(q *request) (any, *apiError) {
	status, err := q.f.enum("status", "active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid")
	if err != nil {
		return nil, err
	}
	cf, err := createdFilter(q.f)
	if err != nil {
		return nil, err
	}
	cus, pr := q.f.str("customer"), q.f.str("price")
	var out []object
	for _, sub := range all[*subscription](s.st, "subscription") {
		switch status {
		case "":
			if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
				continue
			}
		case "all":
		case "ended":
			if sub.Status != "canceled" && sub.Status != "incomplete_expired" {
				continue
			}
		default:
			if sub.Status != status {
				continue
			}
		}
		if cus != "" && sub.Customer != cus || !cf(sub.Created) {
			continue
		}
		if pr != "" {
			found := false
			for _, it := range sub.Items.Data {
				found = found || it.Price.ID == pr
			}
			if !found {
				continue
			}
		}
		out = append(out, sub)
	}
	return s.page(q, "/v1/subscriptions", out)
}

var subscriptionUpdateSchema = schema{"items[][id]", "items[][price]", "items[][quantity]", "items[][deleted]", "items[][metadata]",
	"items[][metadata][*]", "proration_behavior", "proration_date", "payment_behavior", "cancel_at_period_end", "cancel_at",
	"trial_end", "trial_settings[end_behavior][missing_payment_method]", "default_payment_method", "metadata", "metadata[*]",
	"description", "off_session", "billing_cycle_anchor", "cancellation_details[comment]", "cancellation_details[feedback]",
	"payment_settings[save_default_payment_method]", "expand[]"}

// pendingIfIncompleteParams are the only updates Stripe accepts together
// with payment_behavior=pending_if_incomplete.
var pendingIfIncompleteParams = []string{"items", "proration_behavior", "proration_date", "payment_behavior", "expand",
	"trial_end", "billing_cycle_anchor", "off_session"}

func (s *Sandbox) updateSubscription(q *request) (any, *apiError) {
	f, now := q.f, q.t.now
	sub, ok := get[*subscription](s.st, q.id())
	if !ok {
		return nil, noSuch("subscription", q.id())
	}
	if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
		for k := range f.vals {
			top := splitKey(k)[0]
			if top != "metadata" && top != "cancellation_details" && top != "expand" {
				return nil, invalidRequest(k, "A canceled subscription can only update its cancellation_details and metadata.")
			}
		}
	}
	pb, err := f.enum("payment_behavior", "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
	if err != nil {
		return nil, err
	}
	if pb == "pending_if_incomplete" {
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
	pror, err := f.enum("proration_behavior", "always_invoice", "create_prorations", "none")
	if err != nil {
		return nil, err
	}
	if pror == "" {
		pror = "create_prorations"
	}
	prorDate, hasPD, err := f.int("proration_date")
	if err != nil {
		return nil, err
	}
	if !hasPD {
		prorDate = now
	}
	if hasPD && (prorDate < sub.CurrentPeriodStart || prorDate > sub.CurrentPeriodEnd) {
		return nil, invalidRequest("proration_date", "The proration_date must be within the current billing period.")
	}
	changes, err := s.parseItems(f, "items")
	if err != nil {
		return nil, err
	}
	items := append([]subItem(nil), sub.Items.Data...)
	for _, ch := range changes {
		if ch.id == "" {
			if ch.deleted {
				return nil, paramMissing(ch.idx + "[id]")
			}
			if ch.price == nil {
				return nil, paramMissing(ch.idx + "[price]")
			}
			items = append(items, s.newItem(q.t, sub.ID, ch))
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
		if ch.metadata != nil && len(ch.metadata) > 0 {
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
	cape, hasCAPE, err := f.bool("cancel_at_period_end")
	if err != nil {
		return nil, err
	}
	cancelAt, hasCancelAt, err := f.int("cancel_at")
	if err != nil {
		return nil, err
	}
	if hasCancelAt && cancelAt <= now {
		return nil, invalidRequest("cancel_at", "cancel_at must be in the future.")
	}
	te, teNow, hasTE, err := f.timeOrNow("trial_end")
	if err != nil {
		return nil, err
	}
	if hasTE && !teNow && (te <= now || te > now+730*day) {
		return nil, invalidRequest("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future, and at most 730 days away.")
	}
	if hasTE && sub.Status != "trialing" && sub.Status != "active" {
		return nil, invalidRequest("trial_end", "A trial can only be set on a trialing or active subscription (this one is %s).", sub.Status)
	}
	mpm, err := f.enum("trial_settings[end_behavior][missing_payment_method]", "cancel", "create_invoice", "pause")
	if err != nil {
		return nil, err
	}
	dpm := f.optStr("default_payment_method")
	if dpm != nil && *dpm != "" {
		if err := s.checkCustomerPM(*dpm, sub.Customer, "default_payment_method"); err != nil {
			return nil, err
		}
	}
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
	if _, err := f.enum("payment_settings[save_default_payment_method]", "off", "on_subscription"); err != nil {
		return nil, err
	}
	md, err := applyMetadata(sub.Metadata, f, "metadata")
	if err != nil {
		return nil, err
	}

	// What the price change costs now, if anything.
	priceChanged := len(changes) > 0 && changedPrices(sub.Items.Data, items)
	var prorations []invoiceLine
	billable := sub.Status == "active" || sub.Status == "past_due"
	if len(changes) > 0 && priceChanged && billable && pror != "none" {
		prorations = s.prorate(sub, sub.Items.Data, items, prorDate)
	}
	immediate := pror == "always_invoice" && len(prorations) > 0 && linesTotal(prorations) > 0
	if immediate && pb == "error_if_incomplete" {
		pm := s.defaultPM(sub)
		if pm == nil {
			return nil, errNoPaymentMethod
		}
		if pm.FailCharges {
			return nil, cardDeclined("generic_decline", "Your card was declined.")
		}
	}

	// Everything is valid: apply.
	before := s.snap(sub)
	sub.Metadata = md
	if v := f.optStr("description"); v != nil {
		sub.Description = nilIfEmpty(*v)
	}
	if v := f.optStr("cancellation_details[comment]"); v != nil {
		sub.CancellationDetails.Comment = nilIfEmpty(*v)
	}
	if v := f.optStr("cancellation_details[feedback]"); v != nil {
		sub.CancellationDetails.Feedback = nilIfEmpty(*v)
	}
	if v := f.str("payment_settings[save_default_payment_method]"); v != "" {
		sub.PaymentSettings.SaveDefaultPaymentMethod = v
	}
	if mpm != "" {
		sub.TrialSettings.EndBehavior.MissingPaymentMethod = mpm
	}
	if dpm != nil {
		sub.DefaultPaymentMethod = nilIfEmpty(*dpm)
	}
	if hasCAPE {
		sub.CancelAtPeriodEnd = cape
		if cape {
			sub.CancelAt, sub.CanceledAt = ptr(sub.CurrentPeriodEnd), ptr(now)
		} else {
			sub.CancelAt, sub.CanceledAt = nil, nil
		}
	}
	if hasCancelAt {
		sub.CancelAt, sub.CanceledAt, sub.CancelAtPeriodEnd = ptr(cancelAt), ptr(now), false
	}
	oldItems := sub.Items.Data
	if len(changes) > 0 {
		sub.Items.Data, sub.Items.TotalCount = items, int64(len(items))
	}
	if hasTE && !teNow {
		sub.Status = "trialing"
		if sub.TrialStart == nil {
			sub.TrialStart = ptr(now)
		}
		sub.TrialEnd = ptr(te)
		sub.CurrentPeriodEnd, sub.BillingCycleAnchor = te, te
	}
	var inv *invoice
	switch {
	case immediate:
		inv = s.newInvoice(q.t, sub, "subscription_update", prorations, prorDate, prorDate, false)
		sub.LatestInvoice = inv.ID
	case len(prorations) > 0:
		sub.PendingProrations = append(sub.PendingProrations, prorations...)
	}
	s.put(q.t, sub)
	if inv != nil {
		s.finalize(q.t, inv)
		if fail := s.collect(q.t, inv, nil); fail != nil {
			if pb == "pending_if_incomplete" {
				// The change waits for this invoice to be paid.
				sub.Items.Data, sub.Items.TotalCount = oldItems, int64(len(oldItems))
				sub.PendingUpdate = &pendingUpdate{ExpiresAt: now + incompleteWindow, SubscriptionItems: items, Invoice: *inv.ID}
			} else {
				sub.Status = "past_due"
				s.scheduleRetry(q.t, inv)
			}
		}
	}
	s.put(q.t, sub)
	s.emit(q.t, "customer.subscription.updated", sub, before)
	if hasTE && teNow && sub.Status == "trialing" {
		sub.TrialEnd = ptr(now)
		s.endTrial(q.t, sub)
	} else {
		s.maybeTrialWillEnd(q.t, sub)
	}
	return sub, nil
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

func linesTotal(ls []invoiceLine) int64 {
	var n int64
	for _, l := range ls {
		n += l.Amount
	}
	return n
}

// prorate returns credit lines for the unused time of old items and charge
// lines for the remaining time on new ones, from at to the period end.
func (s *Sandbox) prorate(sub *subscription, old, new []subItem, at int64) []invoiceLine {
	span := sub.CurrentPeriodEnd - sub.CurrentPeriodStart
	left := sub.CurrentPeriodEnd - at
	if span <= 0 || left <= 0 {
		return nil
	}
	var lines []invoiceLine
	when := "after " + time.Unix(at, 0).UTC().Format("02 Jan 2006")
	for _, it := range old {
		amt := -(it.Price.UnitAmount * it.Quantity * left / span)
		lines = append(lines, s.line(sub, it, amt, fmt.Sprintf("Unused time on %d × %s %s", it.Quantity, s.productName(it.Price.Product), when), at, sub.CurrentPeriodEnd, true))
	}
	for _, it := range new {
		amt := it.Price.UnitAmount * it.Quantity * left / span
		lines = append(lines, s.line(sub, it, amt, fmt.Sprintf("Remaining time on %d × %s %s", it.Quantity, s.productName(it.Price.Product), when), at, sub.CurrentPeriodEnd, true))
	}
	return lines
}

var subscriptionCancelSchema = schema{"invoice_now", "prorate", "cancellation_details[comment]", "cancellation_details[feedback]", "expand[]"}

func (s *Sandbox) cancelSubscription(q *request) (any, *apiError) {
	sub, ok := get[*subscription](s.st, q.id())
	if !ok {
		return nil, noSuch("subscription", q.id())
	}
	if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
		return nil, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "resource_missing", Param: "id",
			Message: fmt.Sprintf("No such subscription: '%s'", sub.ID)}
	}
	invoiceNow, _, err := q.f.bool("invoice_now")
	if err != nil {
		return nil, err
	}
	prorate, _, err := q.f.bool("prorate")
	if err != nil {
		return nil, err
	}
	if _, err := q.f.enum("cancellation_details[feedback]", "customer_service", "low_quality", "missing_features", "other",
		"switched_service", "too_complex", "too_expensive", "unused"); err != nil {
		return nil, err
	}
	if v := q.f.optStr("cancellation_details[comment]"); v != nil {
		sub.CancellationDetails.Comment = nilIfEmpty(*v)
	}
	if v := q.f.optStr("cancellation_details[feedback]"); v != nil {
		sub.CancellationDetails.Feedback = nilIfEmpty(*v)
	}
	if prorate && invoiceNow && sub.Status == "active" {
		s.creditUnused(q.t, sub)
	}
	s.cancelNow(q.t, sub, "cancellation_requested")
	return sub, nil
}

// creditUnused is the final invoice of a subscription canceled now with
// prorate and invoice_now: a credit for the unused time of the paid
// period, which goes to the customer's balance (a negative balance is
// credit for later invoices), as at Stripe.
func (s *Sandbox) creditUnused(t *txn, sub *subscription) {
	lines := s.prorate(sub, sub.Items.Data, nil, t.now)
	credit := linesTotal(lines)
	if credit >= 0 {
		return
	}
	inv := s.newInvoice(t, sub, "subscription_update", lines, t.now, t.now, false)
	sub.LatestInvoice = inv.ID
	s.finalize(t, inv)
	inv.EndingBalance = ptr(credit)
	s.put(t, inv)
	if c, ok := get[*customer](s.st, sub.Customer); ok {
		c.Balance += credit
		s.put(t, c)
	}
	s.markPaid(t, inv)
}

// cancelNow ends sub at t.now and stops retrying its open invoices.
func (s *Sandbox) cancelNow(t *txn, sub *subscription, reason string) {
	sub.Status = "canceled"
	if sub.CanceledAt == nil {
		sub.CanceledAt = ptr(t.now)
	}
	sub.EndedAt = ptr(t.now)
	if reason != "" {
		sub.CancellationDetails.Reason = ptr(reason)
	}
	sub.PendingUpdate = nil
	sub.PendingProrations = nil
	if sub.Schedule != nil {
		// The schedule ends with its subscription.
		if sch, ok := get[*subscriptionSchedule](s.st, *sub.Schedule); ok && sch.Status == "active" {
			sch.Status, sch.CanceledAt, sch.CurrentPhase, sch.Subscription = "canceled", ptr(t.now), nil, nil
			s.put(t, sch)
			s.emit(t, "subscription_schedule.canceled", sch, nil)
		}
		sub.Schedule = nil
	}
	s.put(t, sub)
	for _, inv := range all[*invoice](s.st, "invoice") {
		if inv.Subscription != nil && *inv.Subscription == sub.ID && *inv.Status == "open" && (inv.NextPaymentAttempt != nil || inv.DunningEndsAt != 0) {
			inv.NextPaymentAttempt, inv.DunningEndsAt = nil, 0
			s.put(t, inv)
		}
	}
	s.emit(t, "customer.subscription.deleted", sub, nil)
}

var subscriptionResumeSchema = schema{"billing_cycle_anchor", "proration_behavior", "proration_date", "expand[]"}

func (s *Sandbox) resumeSubscription(q *request) (any, *apiError) {
	sub, ok := get[*subscription](s.st, q.id())
	if !ok {
		return nil, noSuch("subscription", q.id())
	}
	if sub.Status != "paused" {
		return nil, invalidRequest("", "Only subscriptions with status `paused` can be resumed; this one is `%s`.", sub.Status)
	}
	anchor, err := q.f.enum("billing_cycle_anchor", "now", "unchanged")
	if err != nil {
		return nil, err
	}
	if _, err := q.f.enum("proration_behavior", "always_invoice", "create_prorations", "none"); err != nil {
		return nil, err
	}
	if _, _, err := q.f.int("proration_date"); err != nil {
		return nil, err
	}
	now := q.t.now
	before := s.snap(sub)
	iv := sub.Items.Data[0].Price.Recurring
	if anchor == "unchanged" {
		sub.CurrentPeriodStart = now
		sub.CurrentPeriodEnd = nextPeriodEnd(sub.BillingCycleAnchor, now, iv.Interval, iv.IntervalCount)
	} else {
		sub.BillingCycleAnchor, sub.CurrentPeriodStart = now, now
		sub.CurrentPeriodEnd = periodEnd(now, iv.Interval, iv.IntervalCount, 1)
	}
	sub.Status = "active"
	lines := append(s.subscriptionLines(sub, sub.Items.Data, sub.CurrentPeriodStart, sub.CurrentPeriodEnd, false), sub.PendingProrations...)
	sub.PendingProrations = nil
	inv := s.newInvoice(q.t, sub, "subscription_update", lines, sub.CurrentPeriodStart, sub.CurrentPeriodStart, false)
	sub.LatestInvoice = inv.ID
	s.put(q.t, sub)
	s.emit(q.t, "customer.subscription.resumed", sub, nil)
	s.emit(q.t, "customer.subscription.updated", sub, before)
	s.finalize(q.t, inv)
	s.chargeCycle(q.t, sub, inv)
	return sub, nil
}

// chargeCycle collects a period's invoice; on failure the subscription
// goes past_due and the invoice is retried on schedule.
func (s *Sandbox) chargeCycle(t *txn, sub *subscription, inv *invoice) {
	if fail := s.collect(t, inv, nil); fail == nil {
		return
	}
	before := s.snap(sub)
	sub.Status = "past_due"
	if !s.scheduleRetry(t, inv) && s.cfg.FailedPaymentOutcome != "past_due" {
		s.exhausted(t, sub)
		return
	}
	s.put(t, sub)
	s.emit(t, "customer.subscription.updated", sub, before)
}

// exhausted applies Config.FailedPaymentOutcome once retries run out.
func (s *Sandbox) exhausted(t *txn, sub *subscription) {
	switch s.cfg.FailedPaymentOutcome {
	case "canceled":
		s.cancelNow(t, sub, "payment_failed")
		return
	case "past_due":
		return // left past due: the open invoice waits for a card
	}
	before := s.snap(sub)
	sub.Status = "unpaid"
	s.put(t, sub)
	s.emit(t, "customer.subscription.updated", sub, before)
}

// endTrial plays out the end of a trial at t.now. A trialing subscription's
// current period ends at its trial end, so one set to cancel at period end
// is canceled there, whatever its end behaviour and card: no paid period
// starts and no invoice is made, as at Stripe.
func (s *Sandbox) endTrial(t *txn, sub *subscription) {
	if sub.CancelAtPeriodEnd {
		s.cancelNow(t, sub, "cancellation_requested")
		return
	}
	before := s.snap(sub)
	sub.TrialWillEndSentFor = *sub.TrialEnd
	pm := s.defaultPM(sub)
	mpm := sub.TrialSettings.EndBehavior.MissingPaymentMethod
	if pm == nil && mpm == "pause" {
		sub.Status = "paused"
		s.put(t, sub)
		s.emit(t, "customer.subscription.paused", sub, nil)
		s.emit(t, "customer.subscription.updated", sub, before)
		return
	}
	if pm == nil && mpm == "cancel" {
		s.cancelNow(t, sub, "")
		return
	}
	iv := sub.Items.Data[0].Price.Recurring
	sub.Status = "active"
	sub.BillingCycleAnchor = *sub.TrialEnd
	sub.CurrentPeriodStart = *sub.TrialEnd
	sub.CurrentPeriodEnd = periodEnd(*sub.TrialEnd, iv.Interval, iv.IntervalCount, 1)
	s.renewInvoice(t, sub, before)
}

// renew starts the next period of an active or past_due subscription, or
// ends it when it was set to cancel at period end.
func (s *Sandbox) renew(t *txn, sub *subscription) {
	if sub.CancelAtPeriodEnd {
		s.cancelNow(t, sub, "cancellation_requested")
		return
	}
	before := s.snap(sub)
	if s.schedulePhaseAt(t, sub, sub.CurrentPeriodEnd) {
		return
	}
	iv := sub.Items.Data[0].Price.Recurring
	sub.CurrentPeriodStart = sub.CurrentPeriodEnd
	sub.CurrentPeriodEnd = nextPeriodEnd(sub.BillingCycleAnchor, sub.CurrentPeriodStart, iv.Interval, iv.IntervalCount)
	s.renewInvoice(t, sub, before)
}

func (s *Sandbox) renewInvoice(t *txn, sub *subscription, before snapshot) {
	lines := append(s.subscriptionLines(sub, sub.Items.Data, sub.CurrentPeriodStart, sub.CurrentPeriodEnd, false), sub.PendingProrations...)
	sub.PendingProrations = nil
	inv := s.newInvoice(t, sub, "subscription_cycle", lines, sub.CurrentPeriodStart, sub.CurrentPeriodStart, false)
	sub.LatestInvoice = inv.ID
	s.put(t, sub)
	s.emit(t, "customer.subscription.updated", sub, before)
	s.finalize(t, inv)
	s.chargeCycle(t, sub, inv)
}

// checkTrialDays bounds a trial_period_days parameter: at least least (0 on
// subscriptions, where 0 means no trial; 1 on Checkout Sessions, as Stripe
// documents) and at most Stripe's 730 days.
func checkTrialDays(param string, days, least int64) *apiError {
	if days < least {
		return invalidRequest(param, "Invalid %s: %d; it must be at least %d.", param, days, least)
	}
	if days > 730 {
		return invalidRequest(param, "The maximum number of trial period days is 730 (2 years).")
	}
	return nil
}
