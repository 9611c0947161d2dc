package sandbox

import (
	"strings"
)

var customerSchema = schema{"email", "name", "description", "phone", "metadata", "metadata[*]", "payment_method",
	"invoice_settings[default_payment_method]", "preferred_locales[]", "expand[]"}

func (s *Sandbox) createCustomer(q *request) (any, *apiError) {
	md, err := applyMetadata(map[string]string{}, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	c := &customer{ID: newID("cus_", 14), Object: "customer", Created: q.t.now, InvoicePrefix: strings.ToUpper(newID("", 8)),
		Metadata: md, NextInvoiceSequence: 1, PreferredLocales: []string{}, TaxExempt: "none"}
	if err := s.setCustomerFields(q, c); err != nil {
		return nil, err
	}
	pmID := q.f.str("payment_method")
	var pm *paymentMethod
	if pmID != "" {
		var ok bool
		if pm, ok = get[*paymentMethod](s.st, pmID); !ok {
			return nil, noSuchParam("payment_method", pmID, "payment_method")
		}
		if pm.Customer != nil {
			return nil, invalidRequest("payment_method", "The payment method you provided has already been attached to a customer.")
		}
	}
	if dpm := q.f.str("invoice_settings[default_payment_method]"); dpm != "" && dpm != pmID {
		return nil, invalidRequest("invoice_settings[default_payment_method]",
			"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", dpm)
	} else if dpm != "" {
		c.InvoiceSettings.DefaultPaymentMethod = &dpm
	}
	s.put(q.t, c)
	s.emit(q.t, "customer.created", c, nil)
	if pm != nil {
		s.attachPaymentMethod(q.t, pm, c.ID)
	}
	return c, nil
}

// setCustomerFields applies the plain fields shared by create and update.
func (s *Sandbox) setCustomerFields(q *request, c *customer) *apiError {
	if e := q.f.optStr("email"); e != nil {
		if *e != "" && (len(*e) > 512 || !strings.Contains(*e, "@")) {
			return invalidRequest("email", "Invalid email address: %s", *e)
		}
		c.Email = nilIfEmpty(*e)
	}
	if v := q.f.optStr("name"); v != nil {
		c.Name = nilIfEmpty(*v)
	}
	if v := q.f.optStr("description"); v != nil {
		c.Description = nilIfEmpty(*v)
	}
	if v := q.f.optStr("phone"); v != nil {
		c.Phone = nilIfEmpty(*v)
	}
	if l := q.f.strs("preferred_locales"); len(l) > 0 {
		c.PreferredLocales = l
	}
	return nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ptr[T any](v T) *T { return &v }

func (s *Sandbox) updateCustomer(q *request) (any, *apiError) {
	c, err := byID[*customer](s, q, "customer")
	if err != nil {
		return nil, err
	}
	md, err := applyMetadata(c.Metadata, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	var attach *paymentMethod
	if pmID := q.f.str("payment_method"); pmID != "" {
		pm, ok := get[*paymentMethod](s.st, pmID)
		if !ok {
			return nil, noSuchParam("payment_method", pmID, "payment_method")
		}
		if pm.Customer != nil && *pm.Customer != c.ID {
			return nil, invalidRequest("payment_method", "The payment method you provided has already been attached to a customer.")
		}
		if pm.Customer == nil {
			attach = pm
		}
	}
	dpm := q.f.optStr("invoice_settings[default_payment_method]")
	if dpm != nil && *dpm != "" {
		pm, ok := get[*paymentMethod](s.st, *dpm)
		if !ok || ((pm.Customer == nil || *pm.Customer != c.ID) && pm != attach) {
			return nil, invalidRequest("invoice_settings[default_payment_method]",
				"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", *dpm)
		}
	}
	before := s.snap(c)
	if err := s.setCustomerFields(q, c); err != nil {
		return nil, err
	}
	c.Metadata = md
	if dpm != nil {
		c.InvoiceSettings.DefaultPaymentMethod = nilIfEmpty(*dpm)
	}
	if attach != nil {
		s.attachPaymentMethod(q.t, attach, c.ID)
	}
	s.put(q.t, c)
	s.emit(q.t, "customer.updated", c, before)
	return c, nil
}

var customerListSchema = schema{"email", "limit", "starting_after", "ending_before", "created", "created[gt]", "created[gte]",
	"created[lt]", "created[lte]", "expand[]"}

func (s *Sandbox) listCustomers(q *request) (any, *apiError) {
	email := q.f.str("email")
	cf, err := createdFilter(q.f)
	if err != nil {
		return nil, err
	}
	return listed(s, q, "customer", "/v1/customers", func(c *customer) bool {
		if email != "" && (c.Email == nil || *c.Email != email) {
			return false
		}
		if !cf(c.Created) {
			return false
		}
		return true
	})
}
