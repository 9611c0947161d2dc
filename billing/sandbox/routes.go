package sandbox

import "net/http"

var (
	emptySchema = schema{"expand[]"}
	listSchema  = schema{"limit", "starting_after", "ending_before", "expand[]"}
)

func (s *Sandbox) routes() {
	s.mux = http.NewServeMux()

	s.handle("POST /v1/customers", customerSchema, s.createCustomer)
	s.handle("GET /v1/customers", customerListSchema, s.listCustomers)
	s.handle("GET /v1/customers/{id}", emptySchema, retrieve[*customer](s, "customer"))
	s.handle("POST /v1/customers/{id}", customerSchema, s.updateCustomer)
	s.handle("GET /v1/customers/{id}/payment_methods", paymentMethodListSchema, s.listPaymentMethods)

	s.handle("POST /v1/products", productSchema, s.createProduct)
	s.handle("GET /v1/products", productListSchema, s.listProducts)
	s.handle("GET /v1/products/{id}", emptySchema, retrieve[*product](s, "product"))
	s.handle("POST /v1/prices", priceSchema, s.createPrice)
	s.handle("GET /v1/prices", priceListSchema, s.listPrices)
	s.handle("GET /v1/prices/{id}", emptySchema, retrieve[*price](s, "price"))

	s.handle("POST /v1/subscriptions", subscriptionCreateSchema, s.createSubscription)
	s.handle("GET /v1/subscriptions", subscriptionListSchema, s.listSubscriptions)
	s.handle("GET /v1/subscriptions/{id}", emptySchema, retrieve[*subscription](s, "subscription"))
	s.handle("POST /v1/subscriptions/{id}", subscriptionUpdateSchema, s.updateSubscription)
	s.handle("DELETE /v1/subscriptions/{id}", subscriptionCancelSchema, s.cancelSubscription)
	s.handle("POST /v1/subscriptions/{id}/resume", subscriptionResumeSchema, s.resumeSubscription)

	s.handle("POST /v1/subscription_schedules", scheduleCreateSchema, s.createSchedule)
	s.handle("GET /v1/subscription_schedules/{id}", emptySchema, retrieve[*subscriptionSchedule](s, "subscription_schedule"))
	s.handle("POST /v1/subscription_schedules/{id}", scheduleUpdateSchema, s.updateSchedule)
	s.handle("POST /v1/subscription_schedules/{id}/release", schema{"preserve_cancel_date", "expand[]"}, s.releaseSchedule)
	s.handle("POST /v1/subscription_schedules/{id}/cancel", schema{"invoice_now", "prorate", "expand[]"}, s.cancelSchedule)

	s.handle("GET /v1/invoices", invoiceListSchema, s.listInvoices)
	s.handle("GET /v1/invoices/upcoming", upcomingSchema, s.upcomingInvoice)
	s.handle("GET /v1/invoices/{id}", emptySchema, retrieve[*invoice](s, "invoice"))
	s.handle("POST /v1/invoices/{id}/pay", invoicePaySchema, s.payInvoice)

	s.handle("POST /v1/checkout/sessions", checkoutCreateSchema, s.createCheckoutSession)
	s.handle("GET /v1/checkout/sessions", checkoutListSchema, s.listCheckoutSessions)
	s.handle("GET /v1/checkout/sessions/{id}", emptySchema, retrieve[*checkoutSession](s, "checkout.session"))
	s.handle("POST /v1/checkout/sessions/{id}/expire", emptySchema, s.expireCheckoutSession)

	s.handle("GET /v1/setup_intents/{id}", schema{"client_secret", "expand[]"}, retrieve[*setupIntent](s, "setup_intent"))
	s.handle("GET /v1/payment_methods", paymentMethodListSchema, s.listPaymentMethods)
	s.handle("GET /v1/payment_methods/{id}", emptySchema, retrieve[*paymentMethod](s, "payment_method"))
	s.handle("POST /v1/payment_methods/{id}/attach", paymentMethodAttachSchema, s.attachPaymentMethodAPI)
	s.handle("POST /v1/payment_methods/{id}/detach", emptySchema, s.detachPaymentMethod)

	s.handle("POST /v1/billing_portal/sessions", portalCreateSchema, s.createPortalSession)

	s.handle("GET /v1/events", eventListSchema, s.listEvents)
	s.handle("GET /v1/events/{id}", emptySchema, s.retrieveEvent)

	s.handle("POST /v1/webhook_endpoints", webhookEndpointCreateSchema, s.createWebhookEndpoint)
	s.handle("GET /v1/webhook_endpoints", listSchema, s.listWebhookEndpoints)
	s.handle("GET /v1/webhook_endpoints/{id}", emptySchema, retrieve[*webhookEndpoint](s, "webhook_endpoint"))
	s.handle("POST /v1/webhook_endpoints/{id}", webhookEndpointUpdateSchema, s.updateWebhookEndpoint)
	s.handle("DELETE /v1/webhook_endpoints/{id}", emptySchema, s.deleteWebhookEndpoint)

	s.handle("GET /v1/test_helpers/test_clocks", listSchema, s.listClocks)
	s.handle("GET /v1/test_helpers/test_clocks/{id}", emptySchema, s.retrieveClock)
	s.handleMode("POST /v1/test_helpers/test_clocks/{id}/advance", schema{"frozen_time", "expand[]"}, s.advanceClockHTTP, true, false)

	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		if e := s.checkAuth(r); e != nil { // unauthenticated callers learn no routes
			writeError(w, e)
			return
		}
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error",
			Message: "Unrecognized request URL (" + r.Method + ": " + r.URL.Path + "). The offline sandbox serves only the part of the Stripe API the portal uses."})
	})

	s.pages()
}
