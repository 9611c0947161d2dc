package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/charmbracelet/ssh"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// runInvoices answers `invoices [--json]`: the account's invoices, newest
// first, with each one's Stripe page. Exit status as runStatus.
func (u *UI) runInvoices(s ssh.Session, args []string) int {
	out, errOut := u.plainWriters(s)
	asJSON := false
	for _, a := range args {
		switch a {
		case "--json", "-json":
			asJSON = true
		default:
			fmt.Fprintf(errOut, "invoices: unknown argument %q; usage: invoices [--json]\n", a)
			return 2
		}
	}
	id, ok := IdentityFrom(s.Context())
	if !ok {
		fmt.Fprintln(errOut, "invoices: this portal accepts public-key authentication only")
		return 1
	}
	a, err := u.cfg.Store.AccountByKey(id.Fingerprint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintln(errOut, "This key is not registered: connect with `ssh -t` and no command to register it.")
		return 1
	case err != nil:
		u.cfg.Logger.Error("invoices: load account", "key", id.Fingerprint, "err", err)
		fmt.Fprintln(errOut, "We could not read your account right now; please try again.")
		return 1
	}
	invs, err := u.cfg.Billing.Invoices(s.Context(), a.ID)
	if err != nil {
		u.cfg.Logger.Warn("invoices", "account", a.ID, "err", err)
		fmt.Fprintln(errOut, billing.Message(err))
		return 1
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
			billing.FormatAmount(inv.Amount, inv.Currency), invoiceStatusText(inv.Status), dash(inv.URL))
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
func (u *UI) plainWriters(s ssh.Session) (out, errOut io.Writer) {
	out, errOut = s, s.Stderr()
	if _, _, pty := s.Pty(); pty {
		out, errOut = crlfWriter{out}, crlfWriter{errOut}
	}
	return out, errOut
}
