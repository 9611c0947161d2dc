package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// testCard describes how a card number behaves in the sandbox.
type testCard struct {
	brand       string
	declineCode string // non-empty: declined when collected (checkout, portal)
	failCharges bool   // attaches, but every charge fails
	// needsAction: attaches, but every charge made without the customer
	// (a renewal, an API payment) asks for 3-D Secure: the 4000 0027 6000
	// 3184 card.
	needsAction bool
}

// cardBehaviour classifies a card number (digits only) that passed Luhn.
func cardBehaviour(number string) testCard {
	c := testCard{brand: cardBrand(number)}
	switch number {
	case "4000000000000002":
		c.declineCode = "generic_decline"
	case "4000000000009995":
		c.declineCode = "insufficient_funds"
	case "4000000000000341":
		c.failCharges = true
	case "4000002760003184":
		c.needsAction = true
	}
	return c
}

func cardBrand(n string) string {
	switch {
	case strings.HasPrefix(n, "4"):
		return "visa"
	case strings.HasPrefix(n, "34"), strings.HasPrefix(n, "37"):
		return "amex"
	case strings.HasPrefix(n, "5"), strings.HasPrefix(n, "2"):
		return "mastercard"
	case strings.HasPrefix(n, "6011"), strings.HasPrefix(n, "65"):
		return "discover"
	}
	return "unknown"
}

// luhn reports whether number (digits only) passes the Luhn check.
func luhn(number string) bool {
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(number) >= 12 && sum%10 == 0
}

// newCardPaymentMethod creates (unattached) the PaymentMethod for a card
// that was collected on a hosted page. The number itself is never stored.
func (s *Sandbox) newCardPaymentMethod(t *txn, number string, expMonth, expYear int64, name, email string) *paymentMethod {
	tc := cardBehaviour(number)
	fp := sha256.Sum256([]byte("sandbox-card:" + number))
	pm := &paymentMethod{ID: newID("pm_", 24), Object: "payment_method", Created: t.now, Metadata: map[string]string{}, Type: "card",
		FailCharges: tc.failCharges, NeedsAction: tc.needsAction}
	pm.BillingDetails.Name = nilIfEmpty(name)
	pm.BillingDetails.Email = nilIfEmpty(email)
	pm.Card = card{Brand: tc.brand, Country: "US", DisplayBrand: tc.brand, ExpMonth: expMonth, ExpYear: expYear,
		Fingerprint: hex.EncodeToString(fp[:8]), Funding: "credit", Last4: number[len(number)-4:]}
	pm.Card.Checks.CVCCheck = ptr("pass")
	pm.Card.Networks.Available = []string{tc.brand}
	pm.Card.ThreeDSecureUsage.Supported = true
	s.put(t, pm)
	return pm
}

func (s *Sandbox) attachPaymentMethod(t *txn, pm *paymentMethod, customerID string) {
	pm.Customer = &customerID
	s.put(t, pm)
	s.emit(t, "payment_method.attached", pm, nil)
}

var paymentMethodAttachSchema = schema{"customer", "expand[]"}

func (s *Sandbox) attachPaymentMethodAPI(q *request) (any, *apiError) {
	pm, err := byID[*paymentMethod](s, q, "payment_method")
	if err != nil {
		return nil, err
	}
	cid, err := q.f.required("customer")
	if err != nil {
		return nil, err
	}
	if _, ok := get[*customer](s.st, cid); !ok {
		return nil, noSuchParam("customer", cid, "customer")
	}
	if pm.Customer != nil {
		if *pm.Customer == cid {
			return pm, nil
		}
		return nil, invalidRequest("", "The payment method you provided has already been attached to a customer.")
	}
	s.attachPaymentMethod(q.t, pm, cid)
	return pm, nil
}

func (s *Sandbox) detachPaymentMethod(q *request) (any, *apiError) {
	pm, err := byID[*paymentMethod](s, q, "payment_method")
	if err != nil {
		return nil, err
	}
	if pm.Customer == nil {
		return nil, invalidRequest("", "The payment method %s is not attached to a customer.", pm.ID)
	}
	before := s.snap(pm)
	cid := *pm.Customer
	pm.Customer = nil
	s.put(q.t, pm)
	s.emit(q.t, "payment_method.detached", pm, before)
	if c, ok := get[*customer](s.st, cid); ok && c.InvoiceSettings.DefaultPaymentMethod != nil && *c.InvoiceSettings.DefaultPaymentMethod == pm.ID {
		cb := s.snap(c)
		c.InvoiceSettings.DefaultPaymentMethod = nil
		s.put(q.t, c)
		s.emit(q.t, "customer.updated", c, cb)
	}
	return pm, nil
}

var paymentMethodListSchema = schema{"customer", "type", "limit", "starting_after", "ending_before", "expand[]"}

func (s *Sandbox) listPaymentMethods(q *request) (any, *apiError) {
	cid := q.f.str("customer")
	if q.r.PathValue("id") != "" {
		cid = q.id()
		if _, ok := get[*customer](s.st, cid); !ok {
			return nil, noSuch("customer", cid)
		}
	}
	if _, err := q.f.enum("type", "card"); err != nil {
		return nil, err
	}
	return listed(s, q, "payment_method", "/v1/payment_methods", func(pm *paymentMethod) bool {
		if pm.Customer == nil || (cid != "" && *pm.Customer != cid) {
			return false
		}
		return true
	})
}
