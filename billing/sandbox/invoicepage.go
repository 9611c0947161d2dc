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
	Title, ID, Number, Date, Status, Email, Total, Due, Period string
	Found                                                      bool
	Lines                                                      []invoiceViewLine
}

type invoiceViewLine struct{ Desc, Amount string }

func (s *Sandbox) invoiceView(inv *invoice) invoiceView {
	v := invoiceView{Title: "Invoice"}
	if inv == nil || inv.Status == nil || *inv.Status == "draft" {
		return v
	}
	v.Found, v.ID, v.Number, v.Status = true, *inv.ID, deref(inv.Number), invoiceStatus(inv)
	v.Title = "Invoice " + v.Number
	v.Date, v.Email = formatDay(invoiceDate(inv)), deref(inv.CustomerEmail)
	v.Total = s.cfg.Amount(inv.Total, inv.Currency)
	if inv.AmountRemaining > 0 && *inv.Status == "open" {
		v.Due = s.cfg.Amount(inv.AmountRemaining, inv.Currency)
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
