package sandbox

import (
	"fmt"
	"time"
)

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
	days, hasDays, err := trialDays(f, "trial_period_days", 0)
	if err != nil {
		return nil, err
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
	return listed(s, q, "subscription", "/v1/subscriptions", func(sub *subscription) bool {
		switch status {
		case "":
			if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
				return false
			}
		case "all":
		case "ended":
			if sub.Status != "canceled" && sub.Status != "incomplete_expired" {
				return false
			}
		default:
			if sub.Status != status {
				return false
			}
		}
		if cus != "" && sub.Customer != cus || !cf(sub.Created) {
			return false
		}
		if pr != "" {
			found := false
			for _, it := range sub.Items.Data {
				found = found || it.Price.ID == pr
			}
			if !found {
				return false
			}
		}
		return true
	})
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
	sub, err := byID[*subscription](s, q, "subscription")
	if err != nil {
		return nil, err
	}
	if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
		return nil, noSuch("subscription", sub.ID) // as Stripe answers for an ended one
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
	sub, err := byID[*subscription](s, q, "subscription")
	if err != nil {
		return nil, err
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

// trialDays reads a trial_period_days parameter, bounded: at least least (0
// on subscriptions, where 0 means no trial; 1 on Checkout Sessions, as Stripe
// documents) and at most Stripe's 730 days.
func trialDays(f *form, param string, least int64) (days int64, has bool, e *apiError) {
	days, has, e = f.int(param)
	switch {
	case e != nil || !has:
		return days, has, e
	case days < least:
		return 0, false, invalidRequest(param, "Invalid %s: %d; it must be at least %d.", param, days, least)
	case days > 730:
		return 0, false, invalidRequest(param, "The maximum number of trial period days is 730 (2 years).")
	}
	return days, true, nil
}
