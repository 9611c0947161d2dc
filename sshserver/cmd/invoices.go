package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/charmbracelet/ssh"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/tui"
)

// runInvoices answers `invoices [--json]`: the account's invoices, newest
// first, with each one's Stripe page.
func runInvoices(c *Cmd) int {
	if len(c.Args) > 0 {
		d, _ := c.Table.command("invoices")
		return c.usage(d, "no arguments expected")
	}
	t, s, out, asJSON := c.Table, c.Session, c.Out, c.JSON
	a, code, ok := c.account()
	if !ok {
		return code
	}
	invs, err := t.cfg.Billing.Invoices(s.Context(), a.ID)
	if err != nil {
		t.cfg.Logger.Warn("invoices", "account", a.ID, "err", err)
		return c.fail(1, billing.Message(err))
	}
	if asJSON {
		if invs == nil {
			invs = []billing.Invoice{} // [] for scripts, not null
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(invs)
		return 0
	}
	if len(invs) == 0 {
		fmt.Fprintln(out, "No invoices yet.")
		return 0
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tNUMBER\tPLAN\tAMOUNT\tSTATUS\tPAGE")
	for _, inv := range invs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", inv.Date.UTC().Format("2006-01-02"), dash(inv.Number), dash(inv.Plan),
			billing.FormatAmount(inv.Amount, inv.Currency), tui.InvoiceStatusText(inv.Status), dash(inv.URL))
	}
	_ = tw.Flush()
	return 0
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// plainWriters are the session's stdout and stderr for a command's text; a
// terminal in raw mode needs CR LF.
func (t *Table) plainWriters(s ssh.Session) (out, errOut io.Writer) {
	out, errOut = s, s.Stderr()
	if _, _, pty := s.Pty(); pty {
		out, errOut = crlfWriter{out}, crlfWriter{errOut}
	}
	return out, errOut
}
