package tui

import (
	"context"
	"errors"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// Billing is what the customer screens need from the billing service.
// *billing.Service satisfies it; golden tests use a fake.
type Billing interface {
	Catalog() billing.Catalog
	// Now is the billing clock (the sandbox clock offline): every countdown
	// and expiry on screen reads it, never time.Now.
	Now() time.Time
	// TrialDays is the trial a paid plan starts with.
	TrialDays() int
	ChoosePlan(ctx context.Context, accountID, planID string) (store.Account, error)
	PreviewChange(ctx context.Context, accountID, planID string) (billing.Preview, error)
	CancelAtPeriodEnd(ctx context.Context, accountID string) (store.Account, error)
	UndoCancel(ctx context.Context, accountID string) (store.Account, error)
	// UndoDowngrade withdraws a plan change scheduled for the period end.
	UndoDowngrade(ctx context.Context, accountID string) (store.Account, error)
	CardLink(ctx context.Context, accountID string) (billing.Link, error)
	// CheckoutLink sells planID through Checkout: the screen that says
	// which plan it starts passes that plan, so the page sells it.
	CheckoutLink(ctx context.Context, accountID, planID string) (billing.Link, error)
	PortalLink(ctx context.Context, accountID string) (billing.Link, error)
	// Invoices lists the account's newest invoices; InvoiceLink hands out
	// one's hosted page.
	Invoices(ctx context.Context, accountID string) ([]billing.Invoice, error)
	InvoiceLink(ctx context.Context, accountID, invoiceID string) (billing.Link, error)
	// ChangeEmail moves the account (and its Stripe customer) to a new
	// address on behalf of actor; an address in use is refused.
	ChangeEmail(ctx context.Context, accountID, email, actor string) (store.Account, error)
}

var _ Billing = (*billing.Service)(nil)

// errNoBilling is every action's answer on a portal started without billing.
var errNoBilling = &billing.Error{Op: "tui", Msg: "Billing is not set up on this server yet; please try again later.",
	Err: errors.New("tui: Config.Billing is nil")}

// noBilling serves a portal configured without billing (Config.Billing
// nil): the catalog can be seen, nothing can be bought.
type noBilling struct{ now func() time.Time }

func (n noBilling) Catalog() billing.Catalog { return billing.DefaultCatalog() }
func (n noBilling) Now() time.Time           { return n.now() }
func (noBilling) TrialDays() int             { return billing.DefaultTrialDays }
func (noBilling) ChoosePlan(context.Context, string, string) (store.Account, error) {
	return store.Account{}, errNoBilling
}
func (noBilling) PreviewChange(context.Context, string, string) (billing.Preview, error) {
	return billing.Preview{}, errNoBilling
}
func (noBilling) CancelAtPeriodEnd(context.Context, string) (store.Account, error) {
	return store.Account{}, errNoBilling
}
func (noBilling) UndoCancel(context.Context, string) (store.Account, error) {
	return store.Account{}, errNoBilling
}
func (noBilling) UndoDowngrade(context.Context, string) (store.Account, error) {
	return store.Account{}, errNoBilling
}
func (noBilling) CardLink(context.Context, string) (billing.Link, error) {
	return billing.Link{}, errNoBilling
}
func (noBilling) CheckoutLink(context.Context, string, string) (billing.Link, error) {
	return billing.Link{}, errNoBilling
}
func (noBilling) PortalLink(context.Context, string) (billing.Link, error) {
	return billing.Link{}, errNoBilling
}
func (noBilling) Invoices(context.Context, string) ([]billing.Invoice, error) {
	return nil, errNoBilling
}
func (noBilling) InvoiceLink(context.Context, string, string) (billing.Link, error) {
	return billing.Link{}, errNoBilling
}
func (noBilling) ChangeEmail(context.Context, string, string, string) (store.Account, error) {
	return store.Account{}, errNoBilling
}
