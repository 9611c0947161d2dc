package sandbox

import (
	"net/http"
	"testing"
	"time"

	"github.com/portal/portal/internal/stripemock"
	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// startStripeMock runs the pinned stripe-mock for the test.
func startStripeMock(tb testing.TB) *client.API {
	tb.Helper()
	return newClientOver(stripemock.BaseURL, stripemock.Start(tb))
}

// side is what differs between the two backends: the sandbox has a hosted
// page and a clock; stripe-mock has neither, and needs nothing done.
type side struct {
	completeCheckout func(url, number string)
	advance          func(time.Duration)
}

// portalCalls sends the calls the portal makes, with the portal's exact
// parameters, in the order of its flows. Every call must succeed.
func portalCalls(t *testing.T, sc *client.API, sd side) {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	expandSub := func(p *stripe.Params) {
		p.AddExpand("default_payment_method")
		p.AddExpand("customer.invoice_settings.default_payment_method")
		p.AddExpand("latest_invoice")
	}
	pp := &stripe.PriceParams{Currency: stripe.String("usd"), UnitAmount: stripe.Int64(900), LookupKey: stripe.String("portal_s_usd"),
		TransferLookupKey: stripe.Bool(true), Recurring: &stripe.PriceRecurringParams{Interval: stripe.String("month")},
		ProductData: &stripe.PriceProductDataParams{Name: stripe.String("Portal S")}, Metadata: map[string]string{"plan": "s"}}
	pp.SetIdempotencyKey("contract-price-s")
	priceS, err := sc.Prices.New(pp)
	must("create price", err)
	pp.LookupKey, pp.UnitAmount, pp.ProductData.Name = stripe.String("portal_xl_usd"), stripe.Int64(9900), stripe.String("Portal XL")
	pp.SetIdempotencyKey("contract-price-xl")
	priceXL, err := sc.Prices.New(pp)
	must("create price xl", err)
	it := sc.Prices.List(&stripe.PriceListParams{LookupKeys: []*string{stripe.String("portal_s_usd")}, Active: stripe.Bool(true)})
	for it.Next() {
	}
	must("list prices by lookup key", it.Err())

	cus, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("contract@example.com"), Metadata: map[string]string{"account_id": "acct-c"}})
	must("create customer", err)

	sp := &stripe.SubscriptionParams{Customer: stripe.String(cus.ID), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String(priceS.ID)}},
		TrialPeriodDays: stripe.Int64(30),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String("pause")}},
		Metadata: map[string]string{"account_id": "acct-c", "plan": "s"}}
	sp.SetIdempotencyKey("portal-subscription-acct-c-s")
	expandSub(&sp.Params)
	sub, err := sc.Subscriptions.New(sp)
	must("create subscription", err)

	gp := &stripe.SubscriptionParams{}
	expandSub(&gp.Params)
	sub, err = sc.Subscriptions.Get(sub.ID, gp)
	must("retrieve subscription", err)
	itemID := sub.Items.Data[0].ID

	_, err = sc.Invoices.Upcoming(&stripe.InvoiceUpcomingParams{Customer: stripe.String(cus.ID), Subscription: stripe.String(sub.ID),
		SubscriptionItems:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(itemID), Price: stripe.String(priceXL.ID)}},
		SubscriptionProrationBehavior: stripe.String("always_invoice"), SubscriptionProrationDate: stripe.Int64(time.Now().Unix())})
	must("upcoming invoice", err)

	up := &stripe.SubscriptionParams{Items: []*stripe.SubscriptionItemsParams{{ID: stripe.String(itemID), Price: stripe.String(priceXL.ID)}},
		ProrationBehavior: stripe.String("none")}
	up.SetIdempotencyKey("portal-change-acct-c-xl-v1")
	expandSub(&up.Params)
	_, err = sc.Subscriptions.Update(sub.ID, up)
	must("change plan", err)
	_, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{TrialEnd: stripe.Int64(time.Now().Add(35 * 24 * time.Hour).Unix()),
		ProrationBehavior: stripe.String("none")})
	must("extend trial", err)
	_, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)})
	must("cancel at period end", err)
	_, err = sc.Subscriptions.Update(sub.ID, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(false)})
	must("undo cancel", err)

	_, err = sc.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String(cus.ID), ReturnURL: stripe.String("http://portal.test/")})
	must("billing portal session", err)

	addCard := func(number string) string {
		meta := map[string]string{"account_id": "acct-c", "subscription_id": sub.ID}
		cs, err := sc.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("setup"), Customer: stripe.String(cus.ID),
			Currency: stripe.String("usd"), SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{Metadata: meta}, Metadata: meta,
			SuccessURL: stripe.String("http://portal.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"),
			CancelURL:  stripe.String("http://portal.test/checkout/cancel")})
		must("setup checkout session", err)
		sd.completeCheckout(cs.URL, number)
		cp := &stripe.CheckoutSessionParams{}
		cp.AddExpand("setup_intent")
		cs, err = sc.CheckoutSessions.Get(cs.ID, cp)
		must("retrieve checkout session", err)
		// stripe-mock's fixture session has no SetupIntent; it serves any id.
		siID := "seti_fixture"
		if cs.SetupIntent != nil {
			siID = cs.SetupIntent.ID
		}
		sip := &stripe.SetupIntentParams{}
		sip.AddExpand("payment_method")
		si, err := sc.SetupIntents.Get(siID, sip)
		must("retrieve setup intent", err)
		_, err = sc.PaymentMethods.Get(si.PaymentMethod.ID, nil)
		must("retrieve payment method", err)
		_, err = sc.Customers.Update(cus.ID, &stripe.CustomerParams{InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{
			DefaultPaymentMethod: stripe.String(si.PaymentMethod.ID)}})
		must("set default payment method", err)
		return si.PaymentMethod.ID
	}
	sd.advance(40 * 24 * time.Hour) // the trial ends without a card: paused
	addCard("4000000000000341")
	cgp := &stripe.CustomerParams{}
	cgp.AddExpand("invoice_settings.default_payment_method")
	_, err = sc.Customers.Get(cus.ID, cgp)
	must("retrieve customer", err)
	rs, err := sc.Subscriptions.Resume(sub.ID, &stripe.SubscriptionResumeParams{BillingCycleAnchor: stripe.String("now"), ProrationBehavior: stripe.String("none")})
	must("resume", err)
	good := addCard("4242424242424242")
	invID := "in_fixture"
	if rs.LatestInvoice != nil {
		invID = rs.LatestInvoice.ID
	}
	_, err = sc.Invoices.Pay(invID, &stripe.InvoicePayParams{PaymentMethod: stripe.String(good)})
	must("pay open invoice", err)
	_, err = sc.Invoices.Get(invID, nil)
	must("retrieve invoice", err)
	iit := sc.Invoices.List(&stripe.InvoiceListParams{Customer: stripe.String(cus.ID), Subscription: stripe.String(sub.ID), Status: stripe.String("paid")})
	for iit.Next() {
	}
	must("list invoices", iit.Err())

	cs, err := sc.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("subscription"), Customer: stripe.String(cus.ID),
		LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(priceS.ID), Quantity: stripe.Int64(1)}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{"account_id": "acct-c", "plan": "s"}},
		Metadata:         map[string]string{"account_id": "acct-c", "plan": "s"},
		SuccessURL:       stripe.String("http://portal.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:        stripe.String("http://portal.test/checkout/cancel")})
	must("subscription checkout session", err)
	_, err = sc.CheckoutSessions.Expire(cs.ID, nil)
	must("expire checkout session", err)

	sit := sc.Subscriptions.List(&stripe.SubscriptionListParams{Customer: stripe.String(cus.ID), Status: stripe.String("all")})
	for sit.Next() {
	}
	must("list subscriptions", sit.Err())

	we, err := sc.WebhookEndpoints.New(&stripe.WebhookEndpointParams{URL: stripe.String("http://portal.test/webhooks/stripe"),
		EnabledEvents: stripe.StringSlice([]string{"customer.subscription.updated", "invoice.paid", "checkout.session.completed"}),
		APIVersion:    stripe.String(stripe.APIVersion), Description: stripe.String("SSH account portal")})
	must("create webhook endpoint", err)
	wit := sc.WebhookEndpoints.List(&stripe.WebhookEndpointListParams{})
	for wit.Next() {
	}
	must("list webhook endpoints", wit.Err())
	_, err = sc.WebhookEndpoints.Update(we.ID, &stripe.WebhookEndpointParams{EnabledEvents: stripe.StringSlice([]string{"*"})})
	must("update webhook endpoint", err)

	eit := sc.Events.List(&stripe.EventListParams{Type: stripe.String("customer.subscription.updated")})
	for eit.Next() {
	}
	must("list events", eit.Err())

	_, err = sc.Subscriptions.Cancel(sub.ID, &stripe.SubscriptionCancelParams{})
	must("cancel", err)
}

func TestContractSandbox(t *testing.T) {
	e := newEnv(t)
	portalCalls(t, e.sc, side{
		completeCheckout: func(url, number string) {
			resp, body := e.submitCard(url, number)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("checkout: %d %s", resp.StatusCode, body)
			}
		},
		advance: e.advance,
	})
}

func TestContractStripeMock(t *testing.T) {
	sc := startStripeMock(t)
	// stripe-mock must really validate, or passing proves nothing.
	bad := &stripe.SubscriptionParams{Customer: stripe.String("cus_x"), Items: []*stripe.SubscriptionItemsParams{{Price: stripe.String("price_x")}},
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String("explode")}}}
	if _, err := sc.Subscriptions.New(bad); err == nil {
		t.Fatal("stripe-mock accepted an invalid enum")
	}
	portalCalls(t, sc, side{completeCheckout: func(string, string) {}, advance: func(time.Duration) {}})
}
