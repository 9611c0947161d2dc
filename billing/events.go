package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// Event types that change what a customer may do or sees, beyond the
// subscription, checkout, invoice and customer.updated events dispatch
// handles itself. Each handler decides an outcome; the commit is
// handleEvent's, as for every other event.

// maxExpiredCheckouts is how many expired Checkout Sessions an account
// remembers: enough for every screen of the account that can still show one.
const maxExpiredCheckouts = 8

// dispatchMore handles the types below; ok is false for any other type.
func (s *Service) dispatchMore(ctx context.Context, ev *stripe.Event, obj eventObject) (out outcome, ok bool, err error) {
	switch ev.Type {
	case "checkout.session.expired":
		out, err = s.checkoutExpired(obj)
	case "payment_method.attached", "payment_method.detached", "payment_method.automatically_updated":
		if obj.Object != "payment_method" || obj.Customer == "" {
			return outcome{ignore: "payment method without a customer"}, true, nil
		}
		// The card shown is the one Stripe charges: re-read it where
		// Stripe keeps it (customerUpdated: the subscription's own
		// default, else the customer's).
		out, err = s.customerUpdated(ctx, eventObject{ID: string(obj.Customer), Object: "customer"})
	case "customer.deleted":
		out, err = s.customerDeleted(obj)
	case "charge.dispute.created":
		out, err = s.disputeCreated(ctx, obj)
	case "subscription_schedule.created", "subscription_schedule.updated", "subscription_schedule.released",
		"subscription_schedule.canceled", "subscription_schedule.completed", "subscription_schedule.aborted":
		out, err = s.scheduleChanged(ctx, obj)
	default:
		return outcome{}, false, nil
	}
	return out, true, err
}

// scheduleChanged follows a subscription schedule made, edited (in the
// Dashboard, or at a phase change), released, canceled or completed: the
// scheduled change the dashboard shows ("M until 9 Jan, then S") and its
// undo are the schedule's next phase as Stripe has it. The subscription is
// re-fetched with its schedule (the payload is a hint) and Derive decides,
// so a redelivery or an older event changes nothing.
func (s *Service) scheduleChanged(ctx context.Context, obj eventObject) (outcome, error) {
	if obj.Object != "subscription_schedule" || obj.ID == "" {
		return outcome{ignore: "event object is not a subscription schedule"}, nil
	}
	subID := string(obj.Subscription)
	if subID == "" {
		subID = string(obj.ReleasedSubscription)
	}
	if subID == "" {
		// Ended without saying which subscription it held: the account
		// that recorded this schedule re-reads its own.
		acct, ok, err := s.accountFor(string(obj.Customer), obj.Metadata)
		if err != nil {
			return outcome{}, fmt.Errorf("find account: %w", err)
		}
		if !ok {
			return outcome{ignore: "unknown customer"}, nil
		}
		if acct.ScheduleID != obj.ID || acct.SubscriptionID == "" {
			return outcome{accountID: acct.ID, ignore: "schedule without a subscription"}, nil
		}
		subID = acct.SubscriptionID
	}
	out, _, err := s.subscriptionOutcome(ctx, string(obj.Customer), obj.Metadata, subID)
	return out, err
}

// checkoutExpired records an expired Checkout Session on its account, so an
// add-card screen showing its link offers a fresh one at once (a session
// expired early, by a newer link, still has a future expires_at).
func (s *Service) checkoutExpired(obj eventObject) (outcome, error) {
	if obj.ID == "" {
		return outcome{ignore: "checkout session without an id"}, nil
	}
	acct, ok, err := s.accountFor(string(obj.Customer), obj.Metadata)
	if err != nil {
		return outcome{}, fmt.Errorf("find account: %w", err)
	}
	if !ok {
		return outcome{ignore: "unknown customer"}, nil
	}
	id := obj.ID
	return outcome{accountID: acct.ID, cardOnly: true, mutate: func(a *store.Account) {
		if slices.Contains(a.ExpiredCheckouts, id) {
			return
		}
		a.ExpiredCheckouts = append(slices.Clone(a.ExpiredCheckouts), id)
		if n := len(a.ExpiredCheckouts); n > maxExpiredCheckouts {
			a.ExpiredCheckouts = a.ExpiredCheckouts[n-maxExpiredCheckouts:]
		}
	}}, nil
}

// customerDeleted unlinks a customer deleted at Stripe from its account:
// the account stays (with its email, keys, and trial used), without a
// customer or subscription (Stripe cancels a deleted customer's
// subscriptions), and DeletedCustomerID tells ops what happened; news of
// that customer never links it again (Derive).
func (s *Service) customerDeleted(obj eventObject) (outcome, error) {
	if obj.Object != "customer" || obj.ID == "" {
		return outcome{ignore: "event object is not a customer"}, nil
	}
	acct, ok, err := s.accountFor(obj.ID, obj.Metadata)
	if err != nil {
		return outcome{}, fmt.Errorf("find account: %w", err)
	}
	if !ok || acct.CustomerID != obj.ID {
		return outcome{ignore: "unknown customer"}, nil
	}
	cus := obj.ID
	s.log.Warn("webhook: Stripe customer deleted; account unlinked", "account", acct.ID, "customer", cus)
	return outcome{accountID: acct.ID, mutate: func(a *store.Account) {
		if a.CustomerID != cus {
			return
		}
		a.DeletedCustomerID, a.CustomerID = cus, ""
		(&Snapshot{}).applyCard(a) // no card
		a.SecondSubscriptionID, a.SecondSubscriptionPlan = "", ""
		a.ActionInvoiceID, a.ActionURL = "", ""
	}, snap: nil}, nil
}

// disputeCreated flags the account of the disputed charge's customer for
// ops (DisputeID).
func (s *Service) disputeCreated(ctx context.Context, obj eventObject) (outcome, error) {
	if obj.ID == "" || obj.Charge == "" {
		return outcome{ignore: "dispute without a charge"}, nil
	}
	p := &stripe.ChargeParams{}
	p.Context = ctx
	ch, err := s.api.Charges.Get(string(obj.Charge), p)
	if isMissing(err) {
		return outcome{ignore: "charge not found at Stripe"}, nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("fetch charge: %w", err)
	}
	if ch.Customer == nil || ch.Customer.ID == "" {
		return outcome{ignore: "disputed charge without a customer"}, nil
	}
	acct, ok, err := s.accountFor(ch.Customer.ID, nil)
	if err != nil {
		return outcome{}, fmt.Errorf("find account: %w", err)
	}
	if !ok {
		return outcome{ignore: "unknown customer"}, nil
	}
	id := obj.ID
	s.log.Warn("webhook: charge disputed", "account", acct.ID, "dispute", id, "charge", obj.Charge)
	return outcome{accountID: acct.ID, cardOnly: true, mutate: func(a *store.Account) { a.DisputeID = id }}, nil
}

// actionRequired records an invoice that waits for the customer to confirm
// the payment with their bank (3-D Secure) and its hosted page, which the
// session shows like a Checkout link. Derive clears it once the invoice is
// no longer open.
func actionRequired(obj eventObject) func(*store.Account) {
	id, url := obj.ID, obj.HostedInvoiceURL
	return func(a *store.Account) {
		if url != "" {
			a.ActionInvoiceID, a.ActionURL = id, url
		}
	}
}

// paymentFailedNotice is the notice of a failed invoice payment, naming
// the plan and amount the invoice billed. An upgrade's invoice
// (subscription_update, pending until paid) bills the new plan and leaves
// the account on the old one, with no grace period: that is an
// upgrade_failed notice saying so.
func (s *Service) paymentFailedNotice(accountID string, snap *Snapshot, obj eventObject) store.Notice {
	plan := snap.PlanID
	if p := s.invoicePlan(obj); p != "" {
		plan = p
	}
	amount := FormatAmount(obj.AmountDue, obj.Currency)
	n := store.Notice{AccountID: accountID, Kind: NoticePaymentFailed, Key: obj.ID, CreatedAt: s.now(),
		Message: fmt.Sprintf("A payment of %s for your %s plan failed. Please update your card.", amount, s.cat.Name(plan))}
	if snap.CardKnown && !snap.HasCard {
		// Nothing was charged and Stripe retries nothing without a card:
		// only adding one pays the invoice.
		n.Message = fmt.Sprintf("A payment of %s for your %s plan is due and there is no card to charge. Add a card to pay it.", amount, s.cat.Name(plan))
	}
	if obj.BillingReason == string(stripe.InvoiceBillingReasonSubscriptionUpdate) && plan != snap.PlanID && snap.PlanID != "" {
		n.Kind = NoticeUpgradeFailed
		n.Message = fmt.Sprintf("The payment of %s for your change to %s failed, so you stay on %s. Update your card and choose %s again to retry.",
			amount, s.cat.Name(plan), s.cat.Name(snap.PlanID), s.cat.Name(plan))
	}
	return n
}

// invoicePlan is the catalog plan an invoice charges for: the plan of its
// first line with a positive amount ("" when none is known).
func (s *Service) invoicePlan(obj eventObject) string {
	for _, l := range obj.Lines.Data {
		if l.Amount <= 0 {
			continue
		}
		if p, ok := s.cat.PlanByLookupKey(l.Price.LookupKey); ok {
			return p.ID
		}
	}
	return ""
}

// invoiceLines is the part of an invoice's lines the handler reads; a line
// whose price is not expanded (an id) has no lookup key.
type invoiceLines struct {
	Data []invoiceLine `json:"data"`
}

type invoiceLine struct {
	Amount int64     `json:"amount"`
	Price  linePrice `json:"price"`
}

type linePrice struct {
	LookupKey string
}

func (p *linePrice) UnmarshalJSON(b []byte) error {
	var o struct {
		LookupKey string `json:"lookup_key"`
	}
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
	}
	p.LookupKey = o.LookupKey
	return nil
}

// fillDetached takes the customer of a detached payment method from the
// event's previous attributes: the object itself no longer has one.
func (o *eventObject) fillDetached(ev *stripe.Event) {
	if o.Object != "payment_method" || o.Customer != "" || ev.Data == nil {
		return
	}
	if c, ok := ev.Data.PreviousAttributes["customer"].(string); ok {
		o.Customer = ref(c)
	}
}
