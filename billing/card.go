package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// useCardOnSubscription makes pmID the card Stripe charges for sub. Stripe
// charges a subscription's own default_payment_method before the
// customer's default (a subscription made by Checkout in subscription mode
// has one), so a card saved only as the customer's default would be shown
// while the old one is still charged at the next renewal. When sub has its
// own default and it is another card, it is replaced by pmID (one
// idempotency key per Checkout Session, so a redelivery repeats nothing),
// before any open invoice is paid. It returns the subscription as it now
// is.
func (s *Service) useCardOnSubscription(ctx context.Context, sub *stripe.Subscription, pmID, sessionID string) (*stripe.Subscription, error) {
	if sub.DefaultPaymentMethod == nil || sub.DefaultPaymentMethod.ID == "" || sub.DefaultPaymentMethod.ID == pmID {
		return sub, nil
	}
	p := &stripe.SubscriptionParams{DefaultPaymentMethod: stripe.String(pmID)}
	p.Context = ctx
	p.SetIdempotencyKey("portal-sub-pm-" + sessionID)
	expandSubscription(&p.Params)
	up, err := s.api.Subscriptions.Update(sub.ID, p)
	if err != nil {
		return nil, fmt.Errorf("set the subscription's payment method: %w", err)
	}
	return up, nil
}
