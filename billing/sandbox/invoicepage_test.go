package sandbox

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/internal/money"
	"github.com/stripe/stripe-go/v76"
)

func getPage(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// A form on the billing page lands back on the page, under the sandbox's
// mount: the redirect used to drop /sandbox and the browser got a 404.
func TestPortalFormRedirectKeepsSandboxPrefix(t *testing.T) {
	e := newEnv(t)
	_, cus, sub := e.trialOn("ada@example.com", "plan_s", "pause")
	ps, err := e.sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String(cus.ID)})
	if err != nil {
		t.Fatal(err)
	}
	form := ps.URL + "/cancel"
	resp, err := noRedirect.PostForm(form, url.Values{"subscription": {sub.ID}, "cancel": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer %d, Location %q (%v)", resp.StatusCode, resp.Header.Get("Location"), err)
	}
	if !strings.HasPrefix(loc.Path, "/sandbox/portal/"+ps.ID) {
		t.Fatalf("redirected to %s, want the page under /sandbox", loc)
	}
	if code, body, _ := getPage(t, loc.String()); code != 200 || !strings.Contains(body, "will end at the end of the period") {
		t.Errorf("after the redirect: %d\n%s", code, body)
	}
}

// Stripe's hosted_invoice_url is a page showing the invoice, with its PDF;
// the billing page lists the customer's invoices; prices and cards read the
// way the portal writes them (Config.Amount and Config.Card).
func TestHostedInvoicePagePDFAndBillingPageList(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Amount = func(a int64, cur string) string { return "<" + money.Format(a, cur) + ">" }
		c.Card = func(brand, last4 string) string { return "CARD " + brand + " " + last4 }
	})
	_, cus, sub := e.trialOn("ada@example.com", "plan_s", "pause")
	e.setupCard(cus, sub.ID, "4242424242424242")
	e.advance(31 * 24 * time.Hour) // the first paid invoice
	invs := e.invoices(sub.ID)
	var paid *stripe.Invoice
	for _, inv := range invs {
		if inv.Status == stripe.InvoiceStatusPaid && inv.Total == 900 {
			paid = inv
		}
	}
	if paid == nil || paid.HostedInvoiceURL == "" || paid.InvoicePDF == "" {
		t.Fatalf("no paid $9 invoice with its pages among %d", len(invs))
	}
	code, body, _ := getPage(t, paid.HostedInvoiceURL)
	for _, want := range []string{paid.Number, "Paid", "&lt;$9.00&gt;", `href="` + paid.ID + `/pdf"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("invoice page (%d) lacks %q:\n%s", code, want, body)
		}
	}
	code, pdf, h := getPage(t, paid.InvoicePDF)
	if code != 200 || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf, "%PDF-1.4") ||
		!strings.Contains(pdf, "Invoice "+paid.Number) || !strings.HasSuffix(pdf, "%%EOF\n") {
		t.Errorf("PDF: %d %s\n%.300s", code, h.Get("Content-Type"), pdf)
	}
	if code, _, _ := getPage(t, strings.TrimSuffix(paid.HostedInvoiceURL, paid.ID)+"in_nope"); code != 404 {
		t.Errorf("unknown invoice: %d, want 404", code)
	}

	ps, err := e.sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String(cus.ID)})
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ = getPage(t, ps.URL)
	for _, want := range []string{"Invoices", paid.Number, `href="../invoice/` + paid.ID + `"`, "&lt;$9.00&gt;/month",
		"CARD visa 4242, expires 12/34"} {
		if !strings.Contains(body, want) {
			t.Errorf("billing page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "usd / month") || strings.Contains(body, "ending in") {
		t.Errorf("billing page keeps the old formats:\n%s", body)
	}
}
