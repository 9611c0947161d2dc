package billing

import (
	"context"
	"errors"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// Errors a caller can test with errors.Is. Each also has a customer-facing
// sentence through Message.
var (
	// ErrCardRequired: the plan needs a card first (the account's one trial is
	// used). Follow with CardLink, which makes a checkout for the plan.
	ErrCardRequired = errors.New("billing: card required")
	// ErrNoSubscription: the action needs a Stripe subscription (or customer)
	// the account does not have.
	ErrNoSubscription = errors.New("billing: no subscription")
	// ErrUnknownPlan: the plan id is not in the catalog.
	ErrUnknownPlan = errors.New("billing: unknown plan")
	// ErrTrialPending: the account's trial is claimed but Stripe has not
	// confirmed its subscription (the request got no answer, or is still
	// running). Choosing a paid plan again after a few minutes settles it:
	// the trial starts, or the subscription Stripe made after all is adopted.
	ErrTrialPending = errors.New("billing: trial pending at Stripe")
)

// Error wraps a failure of a Service method with the sentence to show the
// customer. Err keeps the detail for logs.
type Error struct {
	Op  string // the Service method, e.g. "ChoosePlan"
	Msg string // for the customer: plain words, no ids, no JSON
	Err error
}

func (e *Error) Error() string { return "billing: " + e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Message returns the customer-facing sentence for err: the Msg of a wrapped
// *Error, or a sentence chosen from the kind of err (Stripe, store, context).
// It never returns raw API payloads.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var be *Error
	if errors.As(err, &be) && be.Msg != "" {
		return be.Msg
	}
	return describe(err)
}

// wrap returns err as an *Error for op with a sentence for the customer.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	return &Error{Op: op, Msg: describe(err), Err: err}
}

func describe(err error) string {
	switch {
	case errors.Is(err, ErrCardRequired):
		return "Your free trial has been used: add a card to start this plan."
	case errors.Is(err, ErrTrialPending):
		return "Your trial is still being set up with Stripe. Try again in a few minutes."
	case errors.Is(err, ErrNoSubscription):
		return "There is no subscription to change on this account."
	case errors.Is(err, ErrUnknownPlan):
		return "That plan does not exist."
	case errors.Is(err, store.ErrNotFound):
		return "This account no longer exists."
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "The request was interrupted; please try again."
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.Type == stripe.ErrorTypeCard || se.Code == stripe.ErrorCodeCardDeclined:
			return "Your card was declined. Please use another card."
		case se.HTTPStatusCode == 429 || se.Code == stripe.ErrorCodeRateLimit:
			return "The payment provider is busy. Please try again in a minute."
		case se.HTTPStatusCode == 401 || se.HTTPStatusCode == 403:
			return "Billing is misconfigured on our side; we have been notified."
		case se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 0:
			return "The payment provider is unavailable. Please try again shortly."
		}
		return "The payment provider refused the change. Please try again or contact support."
	}
	var ste *storeError
	if errors.As(err, &ste) {
		return "Your account could not be saved just now. Please try again."
	}
	return "Something went wrong with billing. Please try again."
}

// storeError marks an error as the store's so Message can word it.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// storeErr marks err (if any) as a store failure.
func storeErr(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return err
	}
	return &storeError{err}
}
