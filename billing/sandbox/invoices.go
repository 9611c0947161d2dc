package sandbox

import (
	"fmt"
	"net/http"
)

// subscriptionLines bills each item of sub for one period.
func (s *Sandbox) subscriptionLines(sub *subscription, items []subItem, start, end int64, trial bool) []invoiceLine {
	lines := make([]invoiceLine, 0, len(items))
	for _, it := range items {
		amount := it.Price.UnitAmount * it.Quantity
		desc := fmt.Sprintf("%d × %s (at %s / %s)", it.Quantity, s.productName(it.Price.Product), s.cfg.Amount(it.Price.UnitAmount, it.Price.Currency), it.Price.Recurring.Interval)
		if trial {
			amount = 0
			desc = "Trial period for " + s.productName(it.Price.Product)
		}
		lines = append(lines, s.line(sub, it, amount, desc, start, end, false))
	}
	return lines
}

func (s *Sandbox) line(sub *subscription, it subItem, amount int64, desc string, start, end int64, proration bool) invoiceLine {
	l := invoiceLine{ID: newID("il_", 24), Object: "line_item", Amount: amount, AmountExcludingTax: amount, Currency: it.Price.Currency,
		Description: desc, Discountable: !proration, DiscountAmounts: []struct{}{}, Discounts: []string{}, Metadata: map[string]string{},
		Plan: planOf(it.Price), Price: it.Price, Proration: proration, Quantity: it.Quantity, Subscription: &sub.ID,
		SubscriptionItem: ptr(it.ID), TaxAmounts: []struct{}{}, TaxRates: []struct{}{}, Type: "subscription"}
	l.Period.Start, l.Period.End = start, end
	return l
}

func (s *Sandbox) productName(id string) string {
	if p, ok := get[*product](s.st, id); ok {
		return p.Name
	}
	return id
}

// newInvoice creates a draft invoice for sub (invoice.created); id nil
// builds an unsaved preview.
func (s *Sandbox) newInvoice(t *txn, sub *subscription, reason string, lines []invoiceLine, periodStart, periodEnd int64, preview bool) *invoice {
	c, _ := get[*customer](s.st, sub.Customer)
	var total int64
	for _, l := range lines {
		total += l.Amount
	}
	due := max(total, 0) // a net credit is not refunded; it would go to the customer balance
	inv := &invoice{Object: "invoice", AccountCountry: "US", AccountName: "Offline sandbox", AmountDue: due, AmountRemaining: due,
		AutoAdvance: true, BillingReason: reason, CollectionMethod: "charge_automatically", Created: t.now, Currency: sub.Currency,
		Customer: sub.Customer, Discounts: []string{}, Lines: listOf[invoiceLine]{Object: "list", Data: lines, TotalCount: int64(len(lines))},
		Metadata: map[string]string{}, PeriodStart: periodStart, PeriodEnd: periodEnd, Status: ptr("draft"), Subscription: &sub.ID,
		Subtotal: total, SubtotalExcludingTax: total, Total: total, TotalDiscountAmounts: []struct{}{}, TotalExcludingTax: total,
		TotalTaxAmounts: []struct{}{}, EndingBalance: nil}
	if c != nil {
		inv.CustomerEmail, inv.CustomerName = c.Email, c.Name
	}
	if preview {
		inv.Lines.URL = "/v1/invoices/upcoming/lines"
		return inv
	}
	inv.ID = ptr(newID("in_", 24))
	inv.Lines.URL = "/v1/invoices/" + *inv.ID + "/lines"
	if s.cfg.BaseURL != "" {
		inv.HostedInvoiceURL = ptr(s.cfg.BaseURL + "/invoice/" + *inv.ID)
		inv.InvoicePDF = ptr(s.cfg.BaseURL + "/invoice/" + *inv.ID + "/pdf")
	}
	s.put(t, inv)
	s.emit(t, "invoice.created", inv, nil)
	return inv
}

// finalize turns a draft into an open invoice with a number.
func (s *Sandbox) finalize(t *txn, inv *invoice) {
	if c, ok := get[*customer](s.st, inv.Customer); ok {
		inv.Number = ptr(fmt.Sprintf("%s-%04d", c.InvoicePrefix, c.NextInvoiceSequence))
		c.NextInvoiceSequence++
		s.put(t, c)
	}
	inv.Status = ptr("open")
	inv.StatusTransitions.FinalizedAt = ptr(t.now)
	inv.EffectiveAt = ptr(t.now)
	inv.StartingBalance = 0
	inv.EndingBalance = ptr(int64(0))
	s.put(t, inv)
	s.emit(t, "invoice.finalized", inv, nil)
}

// chargerFor returns the payment method that pays inv: the invoice's own,
// then the subscription's default, then the customer's
// invoice_settings.default_payment_method.
func (s *Sandbox) chargerFor(inv *invoice) *paymentMethod {
	if inv.DefaultPaymentMethod != nil {
		if pm, ok := get[*paymentMethod](s.st, *inv.DefaultPaymentMethod); ok {
			return pm
		}
	}
	if inv.Subscription != nil {
		if sub, ok := get[*subscription](s.st, *inv.Subscription); ok {
			if pm := s.defaultPM(sub); pm != nil {
				return pm
			}
		}
	}
	if c, ok := get[*customer](s.st, inv.Customer); ok && c.InvoiceSettings.DefaultPaymentMethod != nil {
		if pm, ok := get[*paymentMethod](s.st, *c.InvoiceSettings.DefaultPaymentMethod); ok {
			return pm
		}
	}
	return nil
}

// defaultPM is the card a subscription charges: its own default, else the
// customer's invoice default.
func (s *Sandbox) defaultPM(sub *subscription) *paymentMethod {
	if sub.DefaultPaymentMethod != nil {
		if pm, ok := get[*paymentMethod](s.st, *sub.DefaultPaymentMethod); ok {
			return pm
		}
	}
	if c, ok := get[*customer](s.st, sub.Customer); ok && c.InvoiceSettings.DefaultPaymentMethod != nil {
		if pm, ok := get[*paymentMethod](s.st, *c.InvoiceSettings.DefaultPaymentMethod); ok {
			return pm
		}
	}
	return nil
}

var errNoPaymentMethod = &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error",
	Message: "This customer has no attached payment source or default payment method. Please consider adding a default payment method."}

// collect tries to take payment for an open invoice now with pm (nil: the
// default chain). It records the attempt and emits invoice.paid +
// invoice.payment_succeeded or invoice.payment_failed; the caller moves the
// subscription. The returned error says why payment failed.
func (s *Sandbox) collect(t *txn, inv *invoice, pm *paymentMethod) *apiError {
	return s.charge(t, inv, pm, false)
}

// charge is collect; onSession is a payment the customer makes in person
// (the hosted invoice page), where a 3-D Secure challenge is completed
// rather than asked for.
func (s *Sandbox) charge(t *txn, inv *invoice, pm *paymentMethod, onSession bool) *apiError {
	if inv.AmountDue == 0 {
		s.markPaid(t, inv)
		return nil
	}
	if pm == nil {
		pm = s.chargerFor(inv)
	}
	before := s.snap(inv)
	inv.AttemptCount++
	inv.Attempted = true
	var failure *apiError
	failed := "invoice.payment_failed"
	switch {
	case pm == nil:
		failure = errNoPaymentMethod
	case pm.FailCharges:
		failure = cardDeclined("generic_decline", "Your card was declined.")
		failure.Param = ""
	case pm.NeedsAction && !onSession:
		// The bank asks the customer to authenticate (3-D Secure); the
		// invoice's hosted page is where they would.
		failure = &apiError{Status: http.StatusPaymentRequired, Type: "card_error", Code: "authentication_required",
			Message: "Your card was declined. This transaction requires authentication."}
		failed = "invoice.payment_action_required"
	}
	if failure != nil {
		inv.NextPaymentAttempt, inv.DunningEndsAt = nil, 0
		s.put(t, inv)
		s.emit(t, failed, inv, before)
		return failure
	}
	s.markPaid(t, inv)
	return nil
}

func (s *Sandbox) markPaid(t *txn, inv *invoice) {
	if inv.AmountDue > 0 && !inv.Attempted {
		inv.AttemptCount++
		inv.Attempted = true
	}
	inv.AmountPaid = inv.AmountDue
	inv.AmountRemaining = 0
	inv.Paid = true
	inv.Status = ptr("paid")
	inv.StatusTransitions.PaidAt = ptr(t.now)
	inv.NextPaymentAttempt, inv.DunningEndsAt = nil, 0
	s.put(t, inv)
	s.emit(t, "invoice.paid", inv, nil)
	s.emit(t, "invoice.payment_succeeded", inv, nil)
}

// onInvoicePaid moves the invoice's subscription back to active when its
// latest invoice gets paid, and applies a pending update it was waiting for.
func (s *Sandbox) onInvoicePaid(t *txn, inv *invoice) {
	if inv.Subscription == nil {
		return
	}
	sub, ok := get[*subscription](s.st, *inv.Subscription)
	if !ok {
		return
	}
	before := s.snap(sub)
	if pu := sub.PendingUpdate; pu != nil && pu.Invoice == *inv.ID {
		sub.Items.Data = pu.SubscriptionItems
		sub.PendingUpdate = nil
	}
	switch sub.Status {
	case "past_due", "unpaid", "incomplete":
		if sub.LatestInvoice != nil && *sub.LatestInvoice == *inv.ID {
			sub.Status = "active"
			sub.IncompleteExpiresAt = 0
		}
	}
	s.put(t, sub)
	s.emit(t, "customer.subscription.updated", sub, before)
}

// Invoices API.

var invoiceListSchema = schema{"customer", "subscription", "status", "collection_method", "created", "created[gt]", "created[gte]",
	"created[lt]", "created[lte]", "limit", "starting_after", "ending_before", "expand[]"}

func (s *Sandbox) listInvoices(q *request) (any, *apiError) {
	status, err := q.f.enum("status", "draft", "open", "paid", "uncollectible", "void")
	if err != nil {
		return nil, err
	}
	if _, err := q.f.enum("collection_method", "charge_automatically", "send_invoice"); err != nil {
		return nil, err
	}
	cf, err := createdFilter(q.f)
	if err != nil {
		return nil, err
	}
	cus, sub := q.f.str("customer"), q.f.str("subscription")
	return listed(s, q, "invoice", "/v1/invoices", func(inv *invoice) bool {
		switch {
		case cus != "" && inv.Customer != cus,
			sub != "" && (inv.Subscription == nil || *inv.Subscription != sub),
			status != "" && *inv.Status != status,
			!cf(inv.Created):
			return false
		}
		return true
	})
}

var invoicePaySchema = schema{"payment_method", "paid_out_of_band", "forgive", "off_session", "expand[]"}

func (s *Sandbox) payInvoice(q *request) (any, *apiError) {
	inv, err := byID[*invoice](s, q, "invoice")
	if err != nil {
		return nil, err
	}
	switch *inv.Status {
	case "paid":
		return nil, invalidRequest("", "Invoice is already paid.")
	case "void":
		return nil, invalidRequest("", "This invoice can no longer be paid because it has been voided.")
	}
	oob, _, err := q.f.bool("paid_out_of_band")
	if err != nil {
		return nil, err
	}
	if _, _, err := q.f.bool("forgive"); err != nil {
		return nil, err
	}
	if _, _, err := q.f.bool("off_session"); err != nil {
		return nil, err
	}
	var pm *paymentMethod
	if id := q.f.str("payment_method"); id != "" {
		var ok bool
		if pm, ok = get[*paymentMethod](s.st, id); !ok {
			return nil, noSuchParam("payment_method", id, "payment_method")
		}
		if pm.Customer == nil || *pm.Customer != inv.Customer {
			return nil, invalidRequest("payment_method", "The PaymentMethod %s does not belong to the Customer %s. Please use a PaymentMethod that belongs to this Customer.", id, inv.Customer)
		}
	} else if !oob && inv.AmountDue > 0 && s.chargerFor(inv) == nil {
		return nil, errNoPaymentMethod
	}
	if *inv.Status == "draft" {
		s.finalize(q.t, inv)
	}
	if oob {
		inv.PaidOutOfBand = true
		s.markPaid(q.t, inv)
		s.onInvoicePaid(q.t, inv)
		return inv, nil
	}
	if fail := s.collect(q.t, inv, pm); fail != nil {
		// A failed manual attempt keeps the automatic schedule going.
		if inv.Subscription != nil {
			if sub, ok := get[*subscription](s.st, *inv.Subscription); ok && (sub.Status == "past_due" || sub.Status == "active") {
				s.scheduleRetry(q.t, inv)
			}
		}
		fail.Status = http.StatusPaymentRequired
		return nil, fail
	}
	s.onInvoicePaid(q.t, inv)
	return inv, nil
}

var upcomingSchema = schema{"customer", "subscription", "subscription_items[][id]", "subscription_items[][price]",
	"subscription_items[][quantity]", "subscription_items[][deleted]", "subscription_proration_behavior",
	"subscription_proration_date", "subscription_cancel_at_period_end", "expand[]"}

// upcomingInvoice previews a subscription's next invoice, optionally with
// changed items (a plan switch): prorations for the rest of the period,
// then the next period at the new prices. Nothing is stored.
func (s *Sandbox) upcomingInvoice(q *request) (any, *apiError) {
	f := q.f
	now := s.nowLocked().Unix()
	subID, cid := f.str("subscription"), f.str("customer")
	if subID == "" && cid == "" {
		return nil, invalidRequest("customer", "Must provide customer or subscription.")
	}
	var sub *subscription
	if subID != "" {
		var ok bool
		if sub, ok = get[*subscription](s.st, subID); !ok {
			return nil, noSuchParam("subscription", subID, "subscription")
		}
		if cid != "" && cid != sub.Customer {
			return nil, invalidRequest("customer", "The subscription %s does not belong to customer %s.", subID, cid)
		}
	} else {
		if _, ok := get[*customer](s.st, cid); !ok {
			return nil, noSuchParam("customer", cid, "customer")
		}
		for _, x := range all[*subscription](s.st, "subscription") {
			if x.Customer == cid && x.Status != "canceled" && x.Status != "incomplete_expired" {
				sub = x
			}
		}
	}
	none := &apiError{Status: 404, Type: "invalid_request_error", Code: "invoice_upcoming_none",
		Message: "No upcoming invoices for customer: " + cid}
	if sub == nil {
		return nil, none
	}
	none.Message = "No upcoming invoices for customer: " + sub.Customer
	pror, err := f.enum("subscription_proration_behavior", "always_invoice", "create_prorations", "none")
	if err != nil {
		return nil, err
	}
	if pror == "" {
		pror = "create_prorations"
	}
	at, hasAt, err := f.int("subscription_proration_date")
	if err != nil {
		return nil, err
	}
	if !hasAt {
		at = now
	}
	cape, hasCAPE, err := f.bool("subscription_cancel_at_period_end")
	if err != nil {
		return nil, err
	}
	if (hasCAPE && cape) || (!hasCAPE && sub.CancelAtPeriodEnd) || sub.Status == "canceled" || sub.Status == "incomplete_expired" {
		return nil, none
	}
	changes, err := s.parseItems(f, "subscription_items")
	if err != nil {
		return nil, err
	}
	items := append([]subItem(nil), sub.Items.Data...)
	for _, ch := range changes {
		i := -1
		for j, it := range items {
			if ch.id != "" && it.ID == ch.id {
				i = j
			}
		}
		switch {
		case ch.id != "" && i < 0:
			return nil, invalidRequest(ch.idx+"[id]", "No such subscription item: '%s'", ch.id)
		case ch.id == "" && ch.price == nil:
			return nil, paramMissing(ch.idx + "[price]")
		case ch.id == "":
			items = append(items, s.newItem(newTxn(now), sub.ID, ch))
		case ch.deleted:
			items = append(items[:i:i], items[i+1:]...)
		default:
			it := items[i]
			if ch.price != nil {
				it.Price, it.Plan = *ch.price, planOf(*ch.price)
			}
			if ch.hasQty {
				it.Quantity = ch.quantity
			}
			items[i] = it
		}
	}
	if err := checkItems(items, "subscription_items"); err != nil {
		return nil, err
	}
	iv := items[0].Price.Recurring
	var lines []invoiceLine
	next := sub.CurrentPeriodEnd
	if sub.Status == "paused" {
		next = now
	}
	if (sub.Status == "active" || sub.Status == "past_due") && pror != "none" && len(changes) > 0 && changedPrices(sub.Items.Data, items) {
		lines = append(lines, s.prorate(sub, sub.Items.Data, items, at)...)
	}
	lines = append(lines, sub.PendingProrations...)
	periodEnd := nextPeriodEnd(next, next, iv.Interval, iv.IntervalCount)
	if sub.Status != "trialing" {
		periodEnd = nextPeriodEnd(sub.BillingCycleAnchor, next, iv.Interval, iv.IntervalCount)
	}
	lines = append(lines, s.subscriptionLines(sub, items, next, periodEnd, false)...)
	inv := s.newInvoice(newTxn(next), sub, "upcoming", lines, sub.CurrentPeriodStart, next, true)
	inv.NextPaymentAttempt = ptr(next)
	if hasAt || len(changes) > 0 {
		inv.SubscriptionProrationDate = ptr(at)
	}
	return inv, nil
}
