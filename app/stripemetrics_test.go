package app

import "testing"

func TestStripeOperationElidesIDs(t *testing.T) {
	for _, tt := range []struct{ method, path, want string }{
		{"POST", "/v1/customers", "POST /v1/customers"},
		{"GET", "/v1/customers/cus_NffrFeUfNV2Hib", "GET /v1/customers/{id}"},
		{"POST", "/v1/subscriptions/sub_1MowQVLkdIwHu7ixeRlqHVzs", "POST /v1/subscriptions/{id}"},
		{"GET", "/v1/payment_methods/pm_1Q0PsIJvEtkwdCNYMSaVuRz6", "GET /v1/payment_methods/{id}"},
		{"POST", "/v1/billing_portal/sessions", "POST /v1/billing_portal/sessions"},
		{"POST", "/v1/test_helpers/test_clocks/clock_1Mr3Ff/advance", "POST /v1/test_helpers/test_clocks/{id}/advance"},
		{"GET", "/v1/invoices?customer=cus_Nffr1", "GET /v1/invoices"},
	} {
		if got := stripeOperation(tt.method, tt.path); got != tt.want {
			t.Errorf("stripeOperation(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
