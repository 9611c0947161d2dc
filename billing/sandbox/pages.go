package sandbox

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

var (
	checkoutTmpl = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/checkout.html"))
	portalTmpl   = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/portal.html"))
	invoiceTmpl  = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/invoice.html"))
)

// pages registers the hosted pages a browser sees.
func (s *Sandbox) pages() {
	s.mux.HandleFunc("GET /checkout/{id}", s.checkoutPage)
	s.mux.HandleFunc("POST /checkout/{id}", s.checkoutSubmit)
	s.mux.HandleFunc("GET /portal/{id}", s.portalPage)
	s.mux.HandleFunc("POST /portal/{id}/card", s.portalCard)
	s.mux.HandleFunc("POST /portal/{id}/plan", s.portalPlan)
	s.mux.HandleFunc("POST /portal/{id}/cancel", s.portalCancel)
	s.mux.HandleFunc("GET /invoice/{id}", s.invoicePage)
	s.mux.HandleFunc("POST /invoice/{id}", s.invoiceSubmit)
	s.mux.HandleFunc("GET /invoice/{id}/pdf", s.invoicePDF)
}

// priceLabel is a plan's price the portal's way: "$9.00/month".
func (s *Sandbox) priceLabel(amount int64, currency, interval string) string {
	return s.cfg.Amount(amount, currency) + "/" + interval
}

// cardForm is what the card fields show back after an error: everything
// typed except the card number.
type cardForm struct {
	Exp, CVC, Name string
	Errors         map[string]string
}

// parseCard validates the card fields of a submitted form.
func parseCard(r *http.Request, now time.Time) (cardInput, cardForm) {
	cf := cardForm{Exp: strings.TrimSpace(r.PostFormValue("exp")), CVC: strings.TrimSpace(r.PostFormValue("cvc")),
		Name: strings.TrimSpace(r.PostFormValue("name")), Errors: map[string]string{}}
	num := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, r.PostFormValue("cardnumber"))
	in := cardInput{number: num, name: cf.Name}
	switch {
	case num == "":
		cf.Errors["cardnumber"] = "Enter a card number."
	case len(num) < 12 || len(num) > 19 || strings.Trim(num, "0123456789") != "":
		cf.Errors["cardnumber"] = "Your card number is incomplete."
	case !luhn(num):
		cf.Errors["cardnumber"] = "Your card number is invalid."
	}
	exp := strings.ReplaceAll(cf.Exp, " ", "")
	mm, yy, ok := strings.Cut(exp, "/")
	if !ok && len(exp) == 4 {
		mm, yy, ok = exp[:2], exp[2:], true
	}
	m, errM := strconv.Atoi(mm)
	y, errY := strconv.Atoi(yy)
	switch {
	case !ok || errM != nil || errY != nil || m < 1 || m > 12 || (len(yy) != 2 && len(yy) != 4):
		cf.Errors["exp"] = "Your card's expiration date is incomplete."
	default:
		if y < 100 {
			y += 2000
		}
		if y < now.Year() || (y == now.Year() && m < int(now.Month())) {
			cf.Errors["exp"] = "Your card's expiration date is in the past."
		} else if y > now.Year()+50 {
			cf.Errors["exp"] = "Your card's expiration year is invalid."
		}
		in.expMonth, in.expYear = int64(m), int64(y)
	}
	cvcLen := 3
	if cardBrand(num) == "amex" {
		cvcLen = 4
	}
	if len(cf.CVC) != cvcLen || strings.Trim(cf.CVC, "0123456789") != "" {
		cf.Errors["cvc"] = "Your card's security code is incomplete."
	}
	return in, cf
}

type checkoutView struct {
	cardForm
	Title, State, Mode, Email, EmailInput, CancelURL, SuccessURL string
	AskEmail                                                     bool
	Lines                                                        []string
}

func (s *Sandbox) checkoutView(cs *checkoutSession, now int64) checkoutView {
	v := checkoutView{Title: "Checkout", State: "missing", cardForm: cardForm{Errors: map[string]string{}}}
	if cs == nil {
		return v
	}
	v.State, v.Mode = cs.Status, cs.Mode
	if v.State == "open" && now >= cs.ExpiresAt {
		v.State = "expired"
	}
	if cs.CancelURL != nil {
		v.CancelURL = *cs.CancelURL
	}
	if cs.SuccessURL != nil && cs.Status == "complete" {
		v.SuccessURL = strings.ReplaceAll(*cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
	}
	if cs.Customer != nil {
		if c, ok := get[*customer](s.st, *cs.Customer); ok && c.Email != nil {
			v.Email = *c.Email
		}
	} else if cs.CustomerEmail != nil {
		v.Email = *cs.CustomerEmail
	}
	v.AskEmail = cs.Mode == "subscription" && cs.Customer == nil && cs.CustomerEmail == nil
	for _, l := range cs.LineItems {
		if p, ok := get[*price](s.st, l.Price); ok {
			line := s.productName(p.Product) + " — " + s.priceLabel(p.UnitAmount*l.Quantity, p.Currency, p.Recurring.Interval)
			if cs.SubTrialDays > 0 {
				line += fmt.Sprintf(", after a %d-day free trial", cs.SubTrialDays)
			}
			v.Lines = append(v.Lines, line)
		}
	}
	return v
}

// renderPage writes one of the hosted pages: never cached, never framed.
func renderPage(w http.ResponseWriter, t *template.Template, name string, status int, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = t.ExecuteTemplate(w, name, v)
}

func (s *Sandbox) checkoutPage(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	cs, _ := get[*checkoutSession](s.st, r.PathValue("id"))
	v := s.checkoutView(cs, s.nowLocked().Unix())
	s.mu.RUnlock()
	status := http.StatusOK
	if cs == nil {
		status = http.StatusNotFound
	}
	renderPage(w, checkoutTmpl, "checkout.html", status, v)
}

func (s *Sandbox) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	s.pageForm(w, r, "checkout", func(t *txn) (bool, func()) {
		now := s.nowLocked()
		cs, _ := get[*checkoutSession](s.st, r.PathValue("id"))
		v := s.checkoutView(cs, now.Unix())
		page := func(status int) func() { return func() { renderPage(w, checkoutTmpl, "checkout.html", status, v) } }
		if v.State != "open" {
			if cs == nil {
				return true, page(http.StatusNotFound)
			}
			return true, page(http.StatusConflict)
		}
		in, cf := parseCard(r, now)
		v.cardForm = cf
		if v.AskEmail {
			v.EmailInput = strings.TrimSpace(r.PostFormValue("email"))
			if a, err := mail.ParseAddress(v.EmailInput); err != nil || a.Address != v.EmailInput {
				cf.Errors["email"] = "Enter a valid email address."
			}
			in.email = v.EmailInput
		}
		if len(cf.Errors) > 0 {
			return true, page(http.StatusUnprocessableEntity)
		}
		if fail := s.completeCheckout(t, cs, in); fail != nil {
			cf.Errors["form"] = fail.Message
			return false, page(http.StatusPaymentRequired)
		}
		success := strings.ReplaceAll(*cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
		return true, func() { http.Redirect(w, r, success, http.StatusSeeOther) }
	})
}

// pageForm serves a hosted page's form post: the form parsed (64 KiB at
// most), then op in one update (see Sandbox.update), then the answer op
// chose; or 503 once the sandbox is closed, 500 when the change could not be
// stored.
func (s *Sandbox) pageForm(w http.ResponseWriter, r *http.Request, what string, op func(t *txn) (commit bool, respond func())) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var respond func()
	err := s.update(func(t *txn) (commit bool) {
		commit, respond = op(t)
		return commit
	})
	switch {
	case errors.Is(err, errClosed):
		http.Error(w, "the sandbox is shutting down", http.StatusServiceUnavailable)
	case err != nil:
		s.log.Error("sandbox: commit "+what, "error", err)
		http.Error(w, "the sandbox could not store the change", http.StatusInternalServerError)
	default:
		respond()
	}
}

// Billing portal pages.

type portalView struct {
	cardForm
	Title, ID, Email, Card, Done, ReturnURL string
	Found                                   bool
	Subs                                    []portalSub
	Invoices                                []invoiceRow
}

type portalSub struct {
	ID, Plan, Status, Period string
	CanChange, Canceling     bool
	Prices                   []portalPrice
}

type portalPrice struct {
	ID, Label string
	Current   bool
}

var portalDone = map[string]string{"card": "Your card was updated.", "plan": "Your plan was changed.",
	"cancel": "Your subscription will end at the end of the period.", "uncancel": "Your subscription will continue."}

func (s *Sandbox) portalView(ps *portalSession) portalView {
	v := portalView{Title: "Billing", cardForm: cardForm{Errors: map[string]string{}}}
	if ps == nil {
		return v
	}
	v.Found, v.ID = true, ps.ID
	if ps.ReturnURL != nil {
		v.ReturnURL = *ps.ReturnURL
	}
	c, _ := get[*customer](s.st, ps.Customer)
	if c == nil {
		return v
	}
	if c.Email != nil {
		v.Email = *c.Email
	}
	if c.InvoiceSettings.DefaultPaymentMethod != nil {
		if pm, ok := get[*paymentMethod](s.st, *c.InvoiceSettings.DefaultPaymentMethod); ok {
			v.Card = fmt.Sprintf("%s, expires %02d/%02d", s.cfg.Card(pm.Card.Brand, pm.Card.Last4), pm.Card.ExpMonth, pm.Card.ExpYear%100)
		}
	}
	var prices []*price
	for _, p := range all[*price](s.st, "price") {
		if p.Active && p.Recurring != nil {
			prices = append(prices, p)
		}
	}
	sort.SliceStable(prices, func(i, j int) bool { return prices[i].UnitAmount < prices[j].UnitAmount })
	for _, sub := range all[*subscription](s.st, "subscription") {
		if sub.Customer != c.ID || sub.Status == "canceled" || sub.Status == "incomplete_expired" {
			continue
		}
		it := sub.Items.Data[0]
		psub := portalSub{ID: sub.ID, Plan: s.productName(it.Price.Product) + " — " + s.priceLabel(it.Price.UnitAmount, it.Price.Currency, it.Price.Recurring.Interval),
			Status: sub.Status, Canceling: sub.CancelAtPeriodEnd,
			CanChange: len(sub.Items.Data) == 1 && (sub.Status == "active" || sub.Status == "trialing" || sub.Status == "past_due")}
		end := time.Unix(sub.CurrentPeriodEnd, 0).UTC().Format("2 Jan 2006")
		switch {
		case sub.CancelAtPeriodEnd:
			psub.Period = "Ends on " + end + "."
		case sub.Status == "trialing":
			psub.Period = "Trial ends on " + end + "."
		case sub.Status == "active" || sub.Status == "past_due":
			psub.Period = "Renews on " + end + "."
		}
		for _, p := range prices {
			if p.Currency == sub.Currency && p.Recurring.Interval == it.Price.Recurring.Interval {
				psub.Prices = append(psub.Prices, portalPrice{ID: p.ID, Current: p.ID == it.Price.ID,
					Label: s.productName(p.Product) + " — " + s.priceLabel(p.UnitAmount, p.Currency, p.Recurring.Interval)})
			}
		}
		v.Subs = append(v.Subs, psub)
	}
	if v.Card == "" {
		// A plan bought by Checkout pays with the subscription's own
		// default card, not the customer's: show the card that pays.
		for _, sub := range all[*subscription](s.st, "subscription") {
			if sub.Customer != c.ID || sub.Status == "canceled" || sub.Status == "incomplete_expired" {
				continue
			}
			if pm := s.defaultPM(sub); pm != nil {
				v.Card = fmt.Sprintf("%s, expires %02d/%02d", s.cfg.Card(pm.Card.Brand, pm.Card.Last4), pm.Card.ExpMonth, pm.Card.ExpYear%100)
				break
			}
		}
	}
	v.Invoices = s.invoiceRows(c.ID)
	return v
}

func (s *Sandbox) portalPage(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	ps, _ := get[*portalSession](s.st, r.PathValue("id"))
	v := s.portalView(ps)
	s.mu.RUnlock()
	v.Done = portalDone[r.URL.Query().Get("done")]
	status := http.StatusOK
	if ps == nil {
		status = http.StatusNotFound
	}
	renderPage(w, portalTmpl, "portal.html", status, v)
}

// portalAction runs a portal form post: act changes state in t and returns
// the "done" key for the redirect, or a message to show on the page.
func (s *Sandbox) portalAction(w http.ResponseWriter, r *http.Request, act func(t *txn, ps *portalSession, c *customer, v *portalView) (string, string)) {
	s.pageForm(w, r, "portal action", func(t *txn) (bool, func()) {
		ps, _ := get[*portalSession](s.st, r.PathValue("id"))
		var c *customer
		if ps != nil {
			c, _ = get[*customer](s.st, ps.Customer)
		}
		if ps == nil || c == nil {
			v := s.portalView(nil)
			return true, func() { renderPage(w, portalTmpl, "portal.html", http.StatusNotFound, v) }
		}
		v := s.portalView(ps)
		done, problem := act(t, ps, c, &v)
		if problem != "" {
			if v.Errors["form"] == "" && len(v.Errors) == 0 {
				v.Errors["form"] = problem
			}
			return false, func() { renderPage(w, portalTmpl, "portal.html", http.StatusUnprocessableEntity, v) }
		}
		return true, func() { redirectToPortal(w, ps.ID, done) }
	})
}

// redirectToPortal sends the browser back to the billing page after a form.
func redirectToPortal(w http.ResponseWriter, id, done string) {
	// A relative Location, resolved by the browser against the page it
	// posted from: http.Redirect would make it absolute from the path this
	// handler sees, without the prefix the sandbox is mounted under
	// (/sandbox), and the browser landed on a 404.
	w.Header().Set("Location", "../"+id+"?done="+done)
	w.WriteHeader(http.StatusSeeOther)
}

func (s *Sandbox) portalCard(w http.ResponseWriter, r *http.Request) {
	s.portalAction(w, r, func(t *txn, ps *portalSession, c *customer, v *portalView) (string, string) {
		in, cf := parseCard(r, s.nowLocked())
		v.cardForm = cf
		if len(cf.Errors) > 0 {
			return "", "Check the card details."
		}
		tc := cardBehaviour(in.number)
		if tc.declineCode != "" {
			cf.Errors["form"] = "Your card was declined."
			return "", "Your card was declined."
		}
		email := ""
		if c.Email != nil {
			email = *c.Email
		}
		pm := s.newCardPaymentMethod(t, in.number, in.expMonth, in.expYear, in.name, email)
		s.attachPaymentMethod(t, pm, c.ID)
		before := s.snap(c)
		c.InvoiceSettings.DefaultPaymentMethod = &pm.ID
		s.put(t, c)
		s.emit(t, "customer.updated", c, before)
		// The portal makes the new card the default everywhere.
		for _, sub := range all[*subscription](s.st, "subscription") {
			if sub.Customer == c.ID && sub.DefaultPaymentMethod != nil && sub.Status != "canceled" {
				sb := s.snap(sub)
				sub.DefaultPaymentMethod = &pm.ID
				s.put(t, sub)
				s.emit(t, "customer.subscription.updated", sub, sb)
			}
		}
		return "card", ""
	})
}

func (s *Sandbox) portalSub(c *customer, id string) *subscription {
	sub, ok := get[*subscription](s.st, id)
	if !ok || sub.Customer != c.ID {
		return nil
	}
	return sub
}

func (s *Sandbox) portalPlan(w http.ResponseWriter, r *http.Request) {
	s.portalAction(w, r, func(t *txn, ps *portalSession, c *customer, v *portalView) (string, string) {
		sub := s.portalSub(c, r.PostFormValue("subscription"))
		p, ok := get[*price](s.st, r.PostFormValue("price"))
		if sub == nil || !ok || p.Recurring == nil || !p.Active || len(sub.Items.Data) != 1 {
			return "", "That plan change is not available."
		}
		old := sub.Items.Data[0]
		if p.ID == old.Price.ID {
			return "plan", ""
		}
		if p.Currency != sub.Currency || p.Recurring.Interval != old.Price.Recurring.Interval {
			return "", "That plan bills differently; pick one with the same currency and interval."
		}
		before := s.snap(sub)
		it := old
		it.Price, it.Plan = *p, planOf(*p)
		if sub.Status == "active" || sub.Status == "past_due" {
			sub.PendingProrations = append(sub.PendingProrations, s.prorate(sub, []subItem{old}, []subItem{it}, t.now)...)
		}
		sub.Items.Data = []subItem{it}
		s.put(t, sub)
		s.emit(t, "customer.subscription.updated", sub, before)
		return "plan", ""
	})
}

func (s *Sandbox) portalCancel(w http.ResponseWriter, r *http.Request) {
	s.portalAction(w, r, func(t *txn, ps *portalSession, c *customer, v *portalView) (string, string) {
		sub := s.portalSub(c, r.PostFormValue("subscription"))
		if sub == nil || sub.Status == "canceled" {
			return "", "That subscription cannot be changed."
		}
		cancel := r.PostFormValue("cancel") != "false"
		before := s.snap(sub)
		sub.CancelAtPeriodEnd = cancel
		if cancel {
			sub.CancelAt, sub.CanceledAt = ptr(sub.CurrentPeriodEnd), ptr(t.now)
			sub.CancellationDetails.Reason = ptr("cancellation_requested")
		} else {
			sub.CancelAt, sub.CanceledAt = nil, nil
			sub.CancellationDetails.Reason = nil
		}
		s.put(t, sub)
		s.emit(t, "customer.subscription.updated", sub, before)
		if cancel {
			return "cancel", ""
		}
		return "uncancel", ""
	})
}
