package sandbox

import (
	"net/url"
	"strings"
)

// checkoutTTL is how long a Checkout Session stays open by default (24 h).
const checkoutTTL = 24 * 60 * 60

var checkoutCreateSchema = schema{"mode", "customer", "customer_email", "currency", "success_url", "cancel_url",
	"client_reference_id", "metadata", "metadata[*]", "payment_method_types[]", "expires_at", "locale",
	"line_items[][price]", "line_items[][quantity]",
	"setup_intent_data[metadata]", "setup_intent_data[metadata][*]", "setup_intent_data[description]",
	"subscription_data[trial_period_days]", "subscription_data[trial_end]", "subscription_data[metadata]",
	"subscription_data[metadata][*]", "subscription_data[trial_settings][end_behavior][missing_payment_method]",
	"subscription_data[description]", "payment_method_collection", "billing_address_collection", "allow_promotion_codes",
	"ui_mode", "expand[]"}

func (s *Sandbox) createCheckoutSession(q *request) (any, *apiError) {
	f, now := q.f, q.t.now
	mode, err := f.enum("mode", "payment", "setup", "subscription")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "":
		return nil, paramMissing("mode")
	case "payment":
		return nil, invalidRequest("mode", "The offline sandbox supports Checkout in setup and subscription mode only.")
	}
	if ui, err := f.enum("ui_mode", "embedded", "hosted"); err != nil {
		return nil, err
	} else if ui == "embedded" {
		return nil, invalidRequest("ui_mode", "The offline sandbox serves hosted Checkout pages only.")
	}
	success, err := f.required("success_url")
	if err != nil {
		return nil, err
	}
	if !validURL(success) {
		return nil, invalidRequest("success_url", "Not a valid URL")
	}
	if c := f.str("cancel_url"); c != "" && !validURL(c) {
		return nil, invalidRequest("cancel_url", "Not a valid URL")
	}
	var cus *customer
	if cid := f.str("customer"); cid != "" {
		var ok bool
		if cus, ok = get[*customer](s.st, cid); !ok {
			return nil, noSuchParam("customer", cid, "customer")
		}
		if f.str("customer_email") != "" {
			return nil, invalidRequest("customer_email", "You may only specify one of these parameters: customer, customer_email.")
		}
	}
	for _, t := range f.strs("payment_method_types") {
		if t != "card" {
			return nil, invalidRequest("payment_method_types", "The offline sandbox takes cards only (got %s).", t)
		}
	}
	if _, err := f.enum("payment_method_collection", "always", "if_required"); err != nil {
		return nil, err
	}
	if _, err := f.enum("billing_address_collection", "auto", "required"); err != nil {
		return nil, err
	}
	if _, _, err := f.bool("allow_promotion_codes"); err != nil {
		return nil, err
	}
	exp, hasExp, err := f.int("expires_at")
	if err != nil {
		return nil, err
	}
	if !hasExp {
		exp = now + checkoutTTL
	} else if exp < now+30*60 || exp > now+checkoutTTL {
		return nil, invalidRequest("expires_at", "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.")
	}
	md, err := applyMetadata(map[string]string{}, f, "metadata")
	if err != nil {
		return nil, err
	}
	cs := &checkoutSession{ID: newID("cs_test_", 58), Object: "checkout.session", CancelURL: nilIfEmpty(f.str("cancel_url")),
		ClientReferenceID: f.optStr("client_reference_id"), Created: now, CustomFields: []struct{}{}, CustomerEmail: nilIfEmpty(f.str("customer_email")),
		ExpiresAt: exp, Locale: f.optStr("locale"), Metadata: md, Mode: mode, PaymentMethodCollection: ptr("always"),
		PaymentMethodTypes: []string{"card"}, ShippingOptions: []struct{}{}, Status: "open", SuccessURL: &success, UIMode: "hosted"}
	if cus != nil {
		cs.Customer = &cus.ID
	}
	switch mode {
	case "setup":
		cur := f.str("currency")
		if cur == "" && len(f.strs("payment_method_types")) == 0 {
			return nil, invalidRequest("currency", "currency is required in setup mode when payment_method_types is not passed.")
		}
		if f.has("line_items[0][price]") || len(f.indices("line_items")) > 0 {
			return nil, invalidRequest("line_items", "You cannot pass `line_items` in `setup` mode.")
		}
		for k := range f.vals {
			if strings.HasPrefix(k, "subscription_data") {
				return nil, invalidRequest(k, "You can not pass `subscription_data` in `setup` mode.")
			}
		}
		smd, err := applyMetadata(map[string]string{}, f, "setup_intent_data[metadata]")
		if err != nil {
			return nil, err
		}
		cs.Currency = nilIfEmpty(cur)
		cs.PaymentStatus = "no_payment_required"
		cs.SetupMetadata = smd
		cs.SetupDescription = f.optStr("setup_intent_data[description]")
	case "subscription":
		for k := range f.vals {
			if strings.HasPrefix(k, "setup_intent_data") {
				return nil, invalidRequest(k, "You can not pass `setup_intent_data` in `subscription` mode.")
			}
		}
		changes, err := s.parseItems(f, "line_items")
		if err != nil {
			return nil, err
		}
		if len(changes) == 0 {
			return nil, paramMissing("line_items")
		}
		var items []subItem
		for _, ch := range changes {
			if ch.price == nil {
				return nil, paramMissing(ch.idx + "[price]")
			}
			it := s.newItem(q.t, "", ch)
			items = append(items, it)
			cs.LineItems = append(cs.LineItems, checkoutLine{Price: ch.price.ID, Quantity: it.Quantity})
		}
		if err := checkItems(items, "line_items"); err != nil {
			return nil, err
		}
		if cur := f.str("currency"); cur != "" && cur != items[0].Price.Currency {
			return nil, invalidRequest("currency", "The currency %s does not match the currency of the line items (%s).", cur, items[0].Price.Currency)
		}
		days, _, err := trialDays(f, "subscription_data[trial_period_days]", 1)
		if err != nil {
			return nil, err
		}
		if f.has("subscription_data[trial_end]") {
			return nil, invalidRequest("subscription_data[trial_end]", "The offline sandbox takes subscription_data[trial_period_days] for Checkout trials.")
		}
		mpm, err := f.enum("subscription_data[trial_settings][end_behavior][missing_payment_method]", "cancel", "create_invoice", "pause")
		if err != nil {
			return nil, err
		}
		smd, err := applyMetadata(map[string]string{}, f, "subscription_data[metadata]")
		if err != nil {
			return nil, err
		}
		total := itemsTotal(items)
		if days > 0 {
			total = 0
		}
		cs.Currency = &items[0].Price.Currency
		cs.AmountSubtotal, cs.AmountTotal = ptr(total), ptr(total)
		cs.PaymentStatus = "unpaid"
		cs.SubTrialDays, cs.SubTrialBehavior, cs.SubMetadata = days, mpm, smd
	}
	if s.cfg.BaseURL != "" {
		cs.URL = ptr(s.cfg.BaseURL + "/checkout/" + cs.ID)
	} else {
		cs.URL = ptr("/checkout/" + cs.ID)
	}
	s.put(q.t, cs)
	return cs, nil
}

func itemsTotal(items []subItem) int64 {
	var n int64
	for _, it := range items {
		n += it.Price.UnitAmount * it.Quantity
	}
	return n
}

func validURL(s string) bool {
	u, err := url.Parse(strings.ReplaceAll(s, "{CHECKOUT_SESSION_ID}", "x"))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

var checkoutListSchema = schema{"customer", "status", "subscription", "limit", "starting_after", "ending_before", "expand[]"}

func (s *Sandbox) listCheckoutSessions(q *request) (any, *apiError) {
	status, err := q.f.enum("status", "complete", "expired", "open")
	if err != nil {
		return nil, err
	}
	cus, sub := q.f.str("customer"), q.f.str("subscription")
	return listed(s, q, "checkout.session", "/v1/checkout/sessions", func(cs *checkoutSession) bool {
		switch {
		case status != "" && cs.Status != status,
			cus != "" && (cs.Customer == nil || *cs.Customer != cus),
			sub != "" && (cs.Subscription == nil || *cs.Subscription != sub):
			return false
		}
		return true
	})
}

func (s *Sandbox) expireCheckoutSession(q *request) (any, *apiError) {
	cs, err := byID[*checkoutSession](s, q, "checkout.session")
	if err != nil {
		return nil, err
	}
	if cs.Status != "open" {
		return nil, invalidRequest("", "Only Checkout Sessions with a status of `open` can be expired. This session has status `%s`.", cs.Status)
	}
	s.expireSession(q.t, cs)
	return cs, nil
}

func (s *Sandbox) expireSession(t *txn, cs *checkoutSession) {
	cs.Status = "expired"
	cs.URL = nil
	s.put(t, cs)
	s.emit(t, "checkout.session.expired", cs, nil)
}

// cardInput is what a hosted page collected.
type cardInput struct {
	number            string // digits only, Luhn-checked
	expMonth, expYear int64
	name, email       string
}

// completeCheckout finishes an open session with a collected card. A
// declined card returns the decline and changes nothing.
func (s *Sandbox) completeCheckout(t *txn, cs *checkoutSession, in cardInput) *apiError {
	tc := cardBehaviour(in.number)
	if tc.declineCode != "" {
		msg := "Your card was declined."
		if tc.declineCode == "insufficient_funds" {
			msg = "Your card has insufficient funds."
		}
		return cardDeclined(tc.declineCode, msg)
	}
	// Subscription mode charges at once unless there is a trial; a card
	// that fails charges fails here, before anything is created.
	if cs.Mode == "subscription" && cs.SubTrialDays == 0 && *cs.AmountTotal > 0 && tc.failCharges {
		return cardDeclined("generic_decline", "Your card was declined.")
	}
	var cus *customer
	if cs.Customer != nil {
		cus, _ = get[*customer](s.st, *cs.Customer)
	}
	email := in.email
	if email == "" && cs.CustomerEmail != nil {
		email = *cs.CustomerEmail
	}
	if cus == nil && cs.Mode == "subscription" {
		cus = &customer{ID: newID("cus_", 14), Object: "customer", Created: t.now, Email: nilIfEmpty(email),
			InvoicePrefix: strings.ToUpper(newID("", 8)), Metadata: map[string]string{}, NextInvoiceSequence: 1,
			PreferredLocales: []string{}, TaxExempt: "none", Name: nilIfEmpty(in.name)}
		s.put(t, cus)
		s.emit(t, "customer.created", cus, nil)
		cs.Customer = &cus.ID
		cs.CustomerCreation = ptr("always")
	}
	if cus != nil && email == "" && cus.Email != nil {
		email = *cus.Email
	}
	pm := s.newCardPaymentMethod(t, in.number, in.expMonth, in.expYear, in.name, email)
	cs.CustomerDetails = &customerDetails{Email: nilIfEmpty(email), Name: nilIfEmpty(in.name), TaxExempt: "none", TaxIDs: []struct{}{}}

	switch cs.Mode {
	case "setup":
		si := &setupIntent{ID: newID("seti_", 24), Object: "setup_intent", Created: t.now, Description: cs.SetupDescription,
			FlowDirections: nil, Metadata: cs.SetupMetadata, PaymentMethodTypes: []string{"card"}, Status: "requires_payment_method", Usage: "off_session"}
		if si.Metadata == nil {
			si.Metadata = map[string]string{}
		}
		si.ClientSecret = si.ID + "_secret_" + newID("", 24)
		if cus != nil {
			si.Customer = &cus.ID
		}
		s.put(t, si)
		s.emit(t, "setup_intent.created", si, nil)
		if cus != nil {
			s.attachPaymentMethod(t, pm, cus.ID)
		}
		si.PaymentMethod = &pm.ID
		si.Status = "succeeded"
		si.LatestAttempt = ptr(newID("setatt_", 24))
		s.put(t, si)
		s.emit(t, "setup_intent.succeeded", si, nil)
		cs.SetupIntent = &si.ID
	case "subscription":
		s.attachPaymentMethod(t, pm, cus.ID)
		sub := s.subscriptionFromCheckout(t, cs, cus, pm)
		cs.Subscription = &sub.ID
		if sub.LatestInvoice != nil {
			cs.Invoice = sub.LatestInvoice
		}
		cs.PaymentStatus = "paid"
	}
	cs.Status = "complete"
	cs.URL = nil
	s.put(t, cs)
	s.emit(t, "checkout.session.completed", cs, nil)
	return nil
}

// subscriptionFromCheckout creates the subscription a subscription-mode
// session sells, paid by pm (its default payment method, as Checkout sets).
func (s *Sandbox) subscriptionFromCheckout(t *txn, cs *checkoutSession, cus *customer, pm *paymentMethod) *subscription {
	now := t.now
	sub := &subscription{ID: newID("sub_", 24), Object: "subscription", CollectionMethod: "charge_automatically", Created: now,
		Customer: cus.ID, DefaultPaymentMethod: &pm.ID, DefaultTaxRates: []struct{}{}, Metadata: cs.SubMetadata, StartDate: now}
	if sub.Metadata == nil {
		sub.Metadata = map[string]string{}
	}
	sub.PaymentSettings.SaveDefaultPaymentMethod = "off"
	sub.TrialSettings.EndBehavior.MissingPaymentMethod = "create_invoice"
	if cs.SubTrialBehavior != "" {
		sub.TrialSettings.EndBehavior.MissingPaymentMethod = cs.SubTrialBehavior
	}
	var items []subItem
	for _, l := range cs.LineItems {
		pr, _ := get[*price](s.st, l.Price)
		items = append(items, s.newItem(t, sub.ID, itemChange{price: pr, quantity: l.Quantity, hasQty: true}))
	}
	sub.Currency = items[0].Price.Currency
	sub.Items = listOf[subItem]{Object: "list", Data: items, TotalCount: int64(len(items)), URL: "/v1/subscription_items?subscription=" + sub.ID}
	iv := items[0].Price.Recurring
	trial := cs.SubTrialDays > 0
	if trial {
		end := now + cs.SubTrialDays*day
		sub.Status = "trialing"
		sub.TrialStart, sub.TrialEnd = ptr(now), ptr(end)
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd, sub.BillingCycleAnchor = now, end, end
	} else {
		sub.Status = "active"
		sub.CurrentPeriodStart, sub.BillingCycleAnchor = now, now
		sub.CurrentPeriodEnd = periodEnd(now, iv.Interval, iv.IntervalCount, 1)
	}
	inv := s.newInvoice(t, sub, "subscription_create", s.subscriptionLines(sub, items, sub.CurrentPeriodStart, sub.CurrentPeriodEnd, trial),
		now, now, false)
	sub.LatestInvoice = inv.ID
	s.put(t, sub)
	s.emit(t, "customer.subscription.created", sub, nil)
	s.finalize(t, inv)
	s.collect(t, inv, pm) // the card was checked above: this succeeds
	s.maybeTrialWillEnd(t, sub)
	return sub
}
