package billing

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Invoice is one of the customer's invoices as screens and `ssh host
// invoices` show it.
type Invoice struct {
	ID       string    `json:"id"`
	Number   string    `json:"number"` // "" for a draft
	Date     time.Time `json:"date"`   // finalized (or created) at
	Plan     string    `json:"plan"`   // the plan's name, "" when no line names one
	Amount   int64     `json:"amount"` // total, in the currency's minor units
	Currency string    `json:"currency"`
	// Status is Stripe's: draft, open, paid, uncollectible or void.
	Status string `json:"status"`
	// URL is Stripe's hosted invoice page; PDF its download. Either may be
	// "" (a draft has neither).
	URL string `json:"url"`
	PDF string `json:"pdf"`
}

// maxInvoices is how many of the newest invoices Invoices lists: two years
// of monthly bills, and one request to Stripe.
const maxInvoices = 24

// errNoInvoice is InvoiceLink's answer for an invoice that is not the
// account's or has no hosted page.
var errNoInvoice = errors.New("billing: no such invoice for this account")

// Invoices lists the account's newest invoices, newest first. An account
// that never had a Stripe customer has none (and no error).
func (s *Service) Invoices(ctx context.Context, accountID string) ([]Invoice, error) {
	const op = "Invoices"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return nil, wrap(op, storeErr(err))
	}
	if acct.CustomerID == "" {
		return nil, nil
	}
	p := &stripe.InvoiceListParams{Customer: stripe.String(acct.CustomerID)}
	p.Limit = stripe.Int64(maxInvoices)
	p.Single = true // one page: the newest maxInvoices
	p.Context = ctx
	var out []Invoice
	it := s.api.Invoices.List(p)
	for it.Next() && len(out) < maxInvoices {
		out = append(out, s.invoice(it.Invoice()))
	}
	if err := it.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// InvoiceLink hands out the hosted page of one of the account's invoices
// as a short link, like CardLink's Checkout page.
func (s *Service) InvoiceLink(ctx context.Context, accountID, invoiceID string) (Link, error) {
	const op = "InvoiceLink"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	p := &stripe.InvoiceParams{}
	p.Context = ctx
	inv, err := s.api.Invoices.Get(invoiceID, p)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	if inv.Customer == nil || inv.Customer.ID != acct.CustomerID || inv.HostedInvoiceURL == "" {
		return Link{}, &Error{Op: op, Msg: "That invoice has no page to show yet.", Err: errNoInvoice}
	}
	return s.shorten(Link{URL: inv.HostedInvoiceURL}, portalLinkTTL), nil
}

func (s *Service) invoice(inv *stripe.Invoice) Invoice {
	out := Invoice{ID: inv.ID, Number: inv.Number, Amount: inv.Total, Currency: string(inv.Currency),
		Status: string(inv.Status), URL: inv.HostedInvoiceURL, PDF: inv.InvoicePDF, Date: unixTime(inv.Created)}
	if inv.StatusTransitions != nil && inv.StatusTransitions.FinalizedAt > 0 {
		out.Date = unixTime(inv.StatusTransitions.FinalizedAt)
	}
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			if l.Price == nil {
				continue
			}
			if plan, ok := s.cat.PlanByLookupKey(l.Price.LookupKey); ok {
				out.Plan = plan.Name // the last line is the plan billed from now on
			}
		}
	}
	return out
}
