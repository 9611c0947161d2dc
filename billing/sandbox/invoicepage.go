package sandbox

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Hosted invoice pages: Stripe's hosted_invoice_url shows an invoice to its
// customer, with a PDF to download; the sandbox's answered 404 until these.

// invoiceRow is one invoice in the billing page's list.
type invoiceRow struct {
	ID, Number, Date, Amount, Status string
}

// invoiceStatus names an invoice's status as the pages show it.
func invoiceStatus(inv *invoice) string {
	switch st := *inv.Status; st {
	case "open":
		return "Due"
	case "uncollectible":
		return "Uncollectible"
	default:
		return strings.ToUpper(st[:1]) + st[1:]
	}
}

func invoiceDate(inv *invoice) int64 {
	if inv.StatusTransitions.FinalizedAt != nil {
		return *inv.StatusTransitions.FinalizedAt
	}
	return inv.Created
}

// invoiceRows lists the customer's invoices, newest first, drafts left out
// (Stripe's portal shows only finalized invoices).
func (s *Sandbox) invoiceRows(customerID string) []invoiceRow {
	var invs []*invoice
	for _, inv := range all[*invoice](s.st, "invoice") {
		if inv.Customer == customerID && inv.Status != nil && *inv.Status != "draft" {
			invs = append(invs, inv)
		}
	}
	sort.SliceStable(invs, func(i, j int) bool { return invoiceDate(invs[i]) > invoiceDate(invs[j]) })
	rows := make([]invoiceRow, 0, len(invs))
	for _, inv := range invs {
		rows = append(rows, invoiceRow{ID: *inv.ID, Number: deref(inv.Number), Date: formatDay(invoiceDate(inv)),
			Amount: s.cfg.Amount(inv.Total, inv.Currency), Status: invoiceStatus(inv)})
	}
	return rows
}

func formatDay(unix int64) string { return time.Unix(unix, 0).UTC().Format("2 Jan 2006") }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

type invoiceView struct {
	cardForm
	Title, ID, Number, Date, Status, Email, Total, Due, Period string
	Found                                                      bool
	// CanPay offers the card form: an open invoice with something due, as
	// Stripe's hosted invoice page lets its customer pay it.
	CanPay bool
	// Confirm names the card on file when its charge asked for 3-D Secure
	// (invoice.payment_action_required): the page offers to complete it.
	Confirm string
	Lines   []invoiceViewLine
}

type invoiceViewLine struct{ Desc, Amount string }

func (s *Sandbox) invoiceView(inv *invoice) invoiceView {
	v := invoiceView{Title: "Invoice", cardForm: cardForm{Errors: map[string]string{}}}
	if inv == nil || inv.Status == nil || *inv.Status == "draft" {
		return v
	}
	v.Found, v.ID, v.Number, v.Status = true, *inv.ID, deref(inv.Number), invoiceStatus(inv)
	v.Title = "Invoice " + v.Number
	v.Date, v.Email = formatDay(invoiceDate(inv)), deref(inv.CustomerEmail)
	v.Total = s.cfg.Amount(inv.Total, inv.Currency)
	if inv.AmountRemaining > 0 && *inv.Status == "open" {
		v.Due = s.cfg.Amount(inv.AmountRemaining, inv.Currency)
		v.CanPay = true
		if pm := s.chargerFor(inv); pm != nil && pm.NeedsAction {
			v.Confirm = s.cfg.Card(pm.Card.Brand, pm.Card.Last4)
		}
	}
	if inv.PeriodEnd > inv.PeriodStart {
		v.Period = formatDay(inv.PeriodStart) + " – " + formatDay(inv.PeriodEnd)
	}
	for _, l := range inv.Lines.Data {
		v.Lines = append(v.Lines, invoiceViewLine{Desc: l.Description, Amount: s.cfg.Amount(l.Amount, l.Currency)})
	}
	return v
}

func (s *Sandbox) lookupInvoice(id string) invoiceView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	inv, _ := get[*invoice](s.st, id)
	return s.invoiceView(inv)
}

func (s *Sandbox) invoicePage(w http.ResponseWriter, r *http.Request) {
	v := s.lookupInvoice(r.PathValue("id"))
	status := http.StatusOK
	if !v.Found {
		status = http.StatusNotFound
	}
	renderPage(w, invoiceTmpl, "invoice.html", status, v)
}

// invoiceSubmit pays an open invoice with the card typed on its page, as
// Stripe's hosted invoice page does, or (confirm) completes 3-D Secure for
// the card on file whose charge asked for it. The customer is on the page, so a card
// that asks for 3-D Secure (4000 0027 6000 3184) authenticates there and
// pays; a declined card changes nothing. Paid: invoice.paid and
// invoice.payment_succeeded, and the subscription back to active when this
// was its latest invoice. The card pays this invoice only: it is not
// attached to the customer nor made a default.
func (s *Sandbox) invoiceSubmit(w http.ResponseWriter, r *http.Request) {
	s.pageForm(w, r, "invoice payment", func(t *txn) (bool, func()) {
		inv, _ := get[*invoice](s.st, r.PathValue("id"))
		v := s.invoiceView(inv)
		page := func(status int) func() { return func() { renderPage(w, invoiceTmpl, "invoice.html", status, v) } }
		// Back to the page, now showing the invoice paid: a relative
		// Location, as the sandbox's mount prefix is not in this path.
		paid := func() {
			w.Header().Set("Location", *inv.ID)
			w.WriteHeader(http.StatusSeeOther)
		}
		switch {
		case !v.Found:
			return true, page(http.StatusNotFound)
		case !v.CanPay:
			return true, page(http.StatusConflict)
		case r.PostFormValue("confirm") != "":
			// Completing 3-D Secure for the card on file.
			if v.Confirm == "" {
				return true, page(http.StatusConflict)
			}
			s.charge(t, inv, s.chargerFor(inv), true)
			s.onInvoicePaid(t, inv)
			return true, paid
		}
		in, cf := parseCard(r, s.nowLocked())
		v.cardForm = cf
		if len(cf.Errors) > 0 {
			return true, page(http.StatusUnprocessableEntity)
		}
		if fail := s.payOnPage(t, inv, in); fail != nil {
			cf.Errors["form"] = fail.Message
			return false, page(http.StatusPaymentRequired)
		}
		return true, paid
	})
}

// payOnPage charges in for inv with the customer present. A declined card
// (or one whose charges fail) returns the decline before anything changes.
func (s *Sandbox) payOnPage(t *txn, inv *invoice, in cardInput) *apiError {
	tc := cardBehaviour(in.number)
	switch {
	case tc.declineCode == "insufficient_funds":
		return cardDeclined(tc.declineCode, "Your card has insufficient funds.")
	case tc.declineCode != "":
		return cardDeclined(tc.declineCode, "Your card was declined.")
	case tc.failCharges:
		return cardDeclined("generic_decline", "Your card was declined.")
	}
	pm := s.newCardPaymentMethod(t, in.number, in.expMonth, in.expYear, in.name, deref(inv.CustomerEmail))
	if fail := s.charge(t, inv, pm, true); fail != nil {
		return fail
	}
	s.onInvoicePaid(t, inv)
	return nil
}

// invoicePDF serves the invoice as a one-page PDF (invoice_pdf).
func (s *Sandbox) invoicePDF(w http.ResponseWriter, r *http.Request) {
	v := s.lookupInvoice(r.PathValue("id"))
	if !v.Found {
		http.Error(w, "No such invoice.", http.StatusNotFound)
		return
	}
	text := []string{"Invoice " + v.Number, "OFFLINE SANDBOX - no real money", "", "Date: " + v.Date,
		"Billed to: " + v.Email, "Status: " + v.Status}
	if v.Period != "" {
		text = append(text, "Period: "+v.Period)
	}
	text = append(text, "")
	for _, l := range v.Lines {
		text = append(text, l.Desc+"    "+l.Amount)
	}
	text = append(text, "", "Total: "+v.Total)
	if v.Due != "" {
		text = append(text, "Amount due: "+v.Due)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", "invoice-"+v.Number+".pdf"))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(simplePDF(text))
}

// simplePDF lays lines of text out on one A4 page in Helvetica. Characters
// outside Latin-1's printable ASCII are replaced, as the standard font's
// encoding has no euro or bullet to offer.
func simplePDF(lines []string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 11 Tf 56 780 Td 16 TL\n")
	for _, l := range lines {
		content.WriteString("(" + pdfString(l) + ") Tj T*\n")
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 32 && r < 127:
			b.WriteRune(r)
		case r == '–' || r == '—':
			b.WriteByte('-')
		case r == '€':
			b.WriteString("EUR ")
		case r == '£':
			b.WriteString("GBP ")
		case r == '¥':
			b.WriteString("JPY ")
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
