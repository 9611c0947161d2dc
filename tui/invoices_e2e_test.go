package tui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portal/portal/billing"
)

// The customer's invoices: the dashboard's i lists them (date, number,
// plan, amount, status), enter shows the chosen one's Stripe page as a
// short link that opens the sandbox's hosted invoice page; `ssh host
// invoices [--json]` prints them for scripts.
func TestJourneyInvoicesScreenAndCommand(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "inv@example.com", "2")

	out, code := p.Exec(t, key, "invoices --json")
	var invs []billing.Invoice
	if err := json.Unmarshal([]byte(out), &invs); err != nil || code != 0 {
		t.Fatalf("invoices --json: exit %d, %v\n%s", code, err, out)
	}
	var paid billing.Invoice
	for _, inv := range invs {
		if inv.Amount == 900 && inv.Status == "paid" {
			paid = inv
		}
	}
	if paid.Number == "" || paid.Plan != "S" || paid.URL == "" {
		t.Fatalf("no paid $9.00 S invoice with a page among %+v", invs)
	}
	out, code = p.Exec(t, key, "invoices")
	if code != 0 || !strings.Contains(out, paid.Number) || !strings.Contains(out, "$9.00") || !strings.Contains(out, "DATE") {
		t.Errorf("invoices: exit %d\n%s", code, out)
	}

	s.Type("i")
	s.WaitFor(t, "Invoices")
	s.WaitFor(t, paid.Number)
	for !strings.Contains(lineWith(s.Screen(), paid.Number), "›") {
		before := s.Screen()
		s.Type("j")
		s.WaitScreen(t, "the cursor to move", func(scr string) bool { return scr != before })
	}
	if l := lineWith(s.Screen(), paid.Number); !strings.Contains(l, "$9.00") || !strings.Contains(l, "paid") || !strings.Contains(l, " S ") {
		t.Errorf("invoice row %q lacks plan, amount or status", l)
	}
	s.Type("enter")
	s.WaitFor(t, "on Stripe, with its PDF")
	raw := shownLink.FindString(s.Screen())
	resp, err := http.Get(onListener(t, p, raw))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), paid.Number) || !strings.Contains(string(body), "Download PDF") {
		t.Errorf("the link %s opens %d:\n%s", raw, resp.StatusCode, body)
	}
	s.Type("esc")
	s.WaitFor(t, "Your account\n")
}

// lineWith is the screen's line holding text.
func lineWith(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}
