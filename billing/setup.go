package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// HandledEvents are the webhook event types the listener acts on; Setup
// subscribes the endpoint to exactly these.
var HandledEvents = []string{
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"customer.subscription.trial_will_end",
	"customer.subscription.paused",
	"customer.subscription.resumed",
	"customer.subscription.pending_update_applied",
	"customer.subscription.pending_update_expired",
	"checkout.session.completed",
	"checkout.session.expired",
	"invoice.paid",
	"invoice.payment_failed",
	"invoice.payment_action_required",
	"invoice.voided",
	"invoice.marked_uncollectible",
	"customer.updated",
	"customer.deleted",
	"payment_method.attached",
	"payment_method.detached",
	"payment_method.automatically_updated",
	"charge.dispute.created",
	"subscription_schedule.created",
	"subscription_schedule.updated",
	"subscription_schedule.released",
	"subscription_schedule.canceled",
	"subscription_schedule.completed",
	"subscription_schedule.aborted",
}

// Setup prepares a Stripe account (or the sandbox) for the portal and reports
// on out: a monthly price (with its product) per paid plan, found or created
// by lookup key, and, when webhookURL is set, a webhook endpoint for
// HandledEvents pinned to API version 2023-10-16. It is idempotent: a second
// run finds everything and creates nothing.
//
// It returns the endpoint's signing secret when it created the endpoint (or
// when the backend returns it for an existing one, as the sandbox does); real
// Stripe reveals a secret only at creation, so for an existing endpoint
// secret is "" and out says where to find it. The secret is written to out
// once, never logged.
func Setup(ctx context.Context, api *client.API, cat Catalog, webhookURL string, out io.Writer) (secret string, err error) {
	if api == nil {
		return "", errors.New("billing: setup: no Stripe client")
	}
	for _, p := range cat.Paid() {
		pr, err := findPrice(ctx, api, p.LookupKey)
		if err != nil {
			return "", fmt.Errorf("billing: setup: find price %s: %w", p.LookupKey, err)
		}
		if pr != nil {
			fmt.Fprintf(out, "price %s exists: %s, %s/month\n", p.LookupKey, pr.ID, FormatAmount(pr.UnitAmount, string(pr.Currency)))
			if pr.UnitAmount != p.Amount || string(pr.Currency) != p.Currency {
				fmt.Fprintf(out, "  warning: the catalog says %s; Stripe prices cannot change: archive %s and rerun to create a new one\n",
					FormatAmount(p.Amount, p.Currency), pr.ID)
			}
			continue
		}
		if pr, err = createPrice(ctx, api, p); err != nil {
			return "", fmt.Errorf("billing: setup: create price %s: %w", p.LookupKey, err)
		}
		fmt.Fprintf(out, "price %s created: %s, %s/month\n", p.LookupKey, pr.ID, FormatAmount(p.Amount, p.Currency))
	}
	if webhookURL == "" {
		return "", nil
	}
	lp := &stripe.WebhookEndpointListParams{}
	lp.Context = ctx
	it := api.WebhookEndpoints.List(lp)
	for it.Next() {
		ep := it.WebhookEndpoint()
		if ep == nil || ep.URL != webhookURL {
			continue
		}
		fmt.Fprintf(out, "webhook endpoint %s exists for %s (API version %s)\n", ep.ID, ep.URL, ep.APIVersion)
		if ep.APIVersion != "" && ep.APIVersion != stripe.APIVersion {
			fmt.Fprintf(out, "  warning: the portal needs API version %s: delete %s and rerun\n", stripe.APIVersion, ep.ID)
		}
		if missing := missingEvents(ep.EnabledEvents); len(missing) > 0 {
			up := &stripe.WebhookEndpointParams{EnabledEvents: stripe.StringSlice(HandledEvents)}
			up.Context = ctx
			if _, err := api.WebhookEndpoints.Update(ep.ID, up); err != nil {
				return "", fmt.Errorf("billing: setup: update webhook endpoint: %w", err)
			}
			fmt.Fprintf(out, "  enabled events %v\n", missing)
		}
		if ep.Secret == "" {
			fmt.Fprintln(out, "  its signing secret is shown only at creation: find it in the Dashboard (Developers → Webhooks)")
		}
		return ep.Secret, nil
	}
	if err := it.Err(); err != nil {
		return "", fmt.Errorf("billing: setup: list webhook endpoints: %w", err)
	}
	ep, err := createEndpoint(ctx, api, webhookURL)
	if err != nil {
		return "", fmt.Errorf("billing: setup: create webhook endpoint: %w", err)
	}
	fmt.Fprintf(out, "webhook endpoint %s created for %s (API version %s)\nsigning secret (set STRIPE_WEBHOOK_SECRET): %s\n", ep.ID, ep.URL, stripe.APIVersion, ep.Secret)
	return ep.Secret, nil
}

func missingEvents(enabled []string) []string {
	if slices.Contains(enabled, "*") {
		return nil
	}
	var out []string
	for _, e := range HandledEvents {
		if !slices.Contains(enabled, e) {
			out = append(out, e)
		}
	}
	return out
}

// createPrice creates plan's monthly price and its product.
func createPrice(ctx context.Context, api *client.API, p Plan) (*stripe.Price, error) {
	params := &stripe.PriceParams{
		Currency:          stripe.String(p.Currency),
		UnitAmount:        stripe.Int64(p.Amount),
		LookupKey:         stripe.String(p.LookupKey),
		TransferLookupKey: stripe.Bool(true), // take the key from an archived price
		Recurring:         &stripe.PriceRecurringParams{Interval: stripe.String("month")},
		ProductData:       &stripe.PriceProductDataParams{Name: stripe.String("Portal " + p.Name)},
		Metadata:          map[string]string{"plan": p.ID},
	}
	params.Context = ctx
	params.SetIdempotencyKey("portal-setup-price-" + p.LookupKey + "-" + p.Currency + "-" + strconv.FormatInt(p.Amount, 10))
	return api.Prices.New(params)
}

// createEndpoint creates the webhook endpoint, pinned to stripe-go's API version.
func createEndpoint(ctx context.Context, api *client.API, url string) (*stripe.WebhookEndpoint, error) {
	cp := &stripe.WebhookEndpointParams{
		URL:           stripe.String(url),
		EnabledEvents: stripe.StringSlice(HandledEvents),
		APIVersion:    stripe.String(stripe.APIVersion),
		Description:   stripe.String("SSH account portal"),
	}
	cp.Context = ctx
	return api.WebhookEndpoints.New(cp)
}
