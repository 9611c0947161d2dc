package sandbox

import "time"

// The subscription lifecycle the clock plays out (see nextDue in clock.go):
// trial_will_end notices, trial ends, renewals, and dunning (failed
// payments, their retries and the retry setting's outcome), the expiry of
// incomplete subscriptions and of pending updates.

const trialWillEndLead = 3 * day

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

// scheduleRetry sets the next automatic attempt after a failed one, per
// Config.PaymentRetryDelays; it reports false when attempts are exhausted.
// With no payment method to charge, Stripe does not retry: no attempt is
// scheduled, and the window the remaining retries would have taken is
// kept (DunningEndsAt) for the retry setting's outcome.
func (s *Sandbox) scheduleRetry(t *txn, inv *invoice) bool {
	inv.NextPaymentAttempt, inv.DunningEndsAt = nil, 0
	i := int(inv.AttemptCount) - 1
	if i < 0 || i >= len(s.cfg.PaymentRetryDelays) {
		s.put(t, inv)
		return false
	}
	if s.chargerFor(inv) == nil {
		var window time.Duration
		for _, d := range s.cfg.PaymentRetryDelays[i:] {
			window += d
		}
		inv.DunningEndsAt = t.now + int64(window/time.Second)
	} else {
		inv.NextPaymentAttempt = ptr(t.now + int64(s.cfg.PaymentRetryDelays[i]/time.Second))
	}
	s.put(t, inv)
	return true
}

func (s *Sandbox) retryInvoice(t *txn, inv *invoice) {
	var sub *subscription
	if inv.Subscription != nil {
		sub, _ = get[*subscription](s.st, *inv.Subscription)
	}
	if fail := s.collect(t, inv, nil); fail == nil {
		s.onInvoicePaid(t, inv)
		return
	}
	if s.scheduleRetry(t, inv) || sub == nil {
		return
	}
	if sub.Status == "past_due" && sub.LatestInvoice != nil && *sub.LatestInvoice == *inv.ID {
		s.exhausted(t, sub)
	}
}

// endDunning ends the retry window of an invoice that was not retried for
// want of a payment method: the retry setting's outcome, as after a last
// failed retry.
func (s *Sandbox) endDunning(t *txn, inv *invoice) {
	inv.DunningEndsAt = 0
	s.put(t, inv)
	if inv.Subscription == nil {
		return
	}
	if sub, ok := get[*subscription](s.st, *inv.Subscription); ok && sub.Status == "past_due" && sub.LatestInvoice != nil && *sub.LatestInvoice == *inv.ID {
		s.exhausted(t, sub)
	}
}

func (s *Sandbox) expireIncomplete(t *txn, sub *subscription) {
	before := s.snap(sub)
	sub.Status = "incomplete_expired"
	sub.EndedAt = ptr(t.now)
	sub.IncompleteExpiresAt = 0
	s.put(t, sub)
	if sub.LatestInvoice != nil {
		if inv, ok := get[*invoice](s.st, *sub.LatestInvoice); ok && *inv.Status == "open" {
			ib := s.snap(inv)
			inv.Status = ptr("void")
			inv.StatusTransitions.VoidedAt = ptr(t.now)
			inv.AmountRemaining = 0
			s.put(t, inv)
			s.emit(t, "invoice.voided", inv, ib)
		}
	}
	s.emit(t, "customer.subscription.updated", sub, before)
	s.emit(t, "customer.subscription.deleted", sub, nil)
}

// expirePendingUpdate drops a pending update whose invoice was not paid in
// time: customer.subscription.pending_update_expired, and Stripe sends
// customer.subscription.updated alongside (pending_update → null).
func (s *Sandbox) expirePendingUpdate(t *txn, sub *subscription) {
	before := s.snap(sub)
	sub.PendingUpdate = nil
	s.put(t, sub)
	s.emit(t, "customer.subscription.pending_update_expired", sub, before)
	s.emit(t, "customer.subscription.updated", sub, before)
}
