package sandbox

// The resource types below are stored (gob, so fields tagged json:"-" keep
// sandbox-only bookkeeping) and rendered (encoding/json, shaped exactly as
// API 2023-10-16). Expandable references hold ids; render replaces them with
// objects on expand[]. Nullable fields are pointers so they render as null.

// object is anything addressable by id.
type object interface {
	objectID() string
	kind() string
}

type customer struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Address             *struct{}         `json:"address"`
	Balance             int64             `json:"balance"`
	Created             int64             `json:"created"`
	Currency            *string           `json:"currency"`
	DefaultSource       *string           `json:"default_source"`
	Delinquent          bool              `json:"delinquent"`
	Description         *string           `json:"description"`
	Discount            *struct{}         `json:"discount"`
	Email               *string           `json:"email"`
	InvoicePrefix       string            `json:"invoice_prefix"`
	InvoiceSettings     invoiceSettings   `json:"invoice_settings"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Name                *string           `json:"name"`
	NextInvoiceSequence int64             `json:"next_invoice_sequence"`
	Phone               *string           `json:"phone"`
	PreferredLocales    []string          `json:"preferred_locales"`
	Shipping            *struct{}         `json:"shipping"`
	TaxExempt           string            `json:"tax_exempt"`
	TestClock           *string           `json:"test_clock"`
}

type invoiceSettings struct {
	CustomFields         *struct{} `json:"custom_fields"`
	DefaultPaymentMethod *string   `json:"default_payment_method"`
	Footer               *string   `json:"footer"`
	RenderingOptions     *struct{} `json:"rendering_options"`
}

func (c *customer) objectID() string { return c.ID }
func (c *customer) kind() string     { return "customer" }

type product struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Active              bool              `json:"active"`
	Created             int64             `json:"created"`
	DefaultPrice        *string           `json:"default_price"`
	Description         *string           `json:"description"`
	Features            []struct{}        `json:"features"`
	Images              []string          `json:"images"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Name                string            `json:"name"`
	PackageDimensions   *struct{}         `json:"package_dimensions"`
	Shippable           *bool             `json:"shippable"`
	StatementDescriptor *string           `json:"statement_descriptor"`
	TaxCode             *string           `json:"tax_code"`
	Type                string            `json:"type"`
	UnitLabel           *string           `json:"unit_label"`
	Updated             int64             `json:"updated"`
	URL                 *string           `json:"url"`
}

func (p *product) objectID() string { return p.ID }
func (p *product) kind() string     { return "product" }

type price struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Active            bool              `json:"active"`
	BillingScheme     string            `json:"billing_scheme"`
	Created           int64             `json:"created"`
	Currency          string            `json:"currency"`
	CustomUnitAmount  *struct{}         `json:"custom_unit_amount"`
	Livemode          bool              `json:"livemode"`
	LookupKey         *string           `json:"lookup_key"`
	Metadata          map[string]string `json:"metadata"`
	Nickname          *string           `json:"nickname"`
	Product           string            `json:"product"`
	Recurring         *recurring        `json:"recurring"`
	TaxBehavior       string            `json:"tax_behavior"`
	TiersMode         *string           `json:"tiers_mode"`
	TransformQuantity *struct{}         `json:"transform_quantity"`
	Type              string            `json:"type"`
	UnitAmount        int64             `json:"unit_amount"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
}

type recurring struct {
	AggregateUsage  *string `json:"aggregate_usage"`
	Interval        string  `json:"interval"`
	IntervalCount   int64   `json:"interval_count"`
	TrialPeriodDays *int64  `json:"trial_period_days"`
	UsageType       string  `json:"usage_type"`
}

func (p *price) objectID() string { return p.ID }
func (p *price) kind() string     { return "price" }

// plan is the legacy view of a recurring price that Stripe still embeds in
// subscription items and invoice lines.
type plan struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	Active          bool              `json:"active"`
	AggregateUsage  *string           `json:"aggregate_usage"`
	Amount          int64             `json:"amount"`
	AmountDecimal   string            `json:"amount_decimal"`
	BillingScheme   string            `json:"billing_scheme"`
	Created         int64             `json:"created"`
	Currency        string            `json:"currency"`
	Interval        string            `json:"interval"`
	IntervalCount   int64             `json:"interval_count"`
	Livemode        bool              `json:"livemode"`
	Metadata        map[string]string `json:"metadata"`
	Nickname        *string           `json:"nickname"`
	Product         string            `json:"product"`
	TiersMode       *string           `json:"tiers_mode"`
	TrialPeriodDays *int64            `json:"trial_period_days"`
	UsageType       string            `json:"usage_type"`
}

func planOf(p price) *plan {
	if p.Recurring == nil {
		return nil
	}
	return &plan{ID: p.ID, Object: "plan", Active: p.Active, Amount: p.UnitAmount, AmountDecimal: p.UnitAmountDecimal,
		BillingScheme: p.BillingScheme, Created: p.Created, Currency: p.Currency, Interval: p.Recurring.Interval,
		IntervalCount: p.Recurring.IntervalCount, Metadata: p.Metadata, Nickname: p.Nickname, Product: p.Product,
		UsageType: "licensed"}
}

type listOf[T any] struct {
	Object     string `json:"object"`
	Data       []T    `json:"data"`
	HasMore    bool   `json:"has_more"`
	TotalCount int64  `json:"total_count"`
	URL        string `json:"url"`
}

type subscription struct {
	ID                            string              `json:"id"`
	Object                        string              `json:"object"`
	Application                   *string             `json:"application"`
	ApplicationFeePercent         *float64            `json:"application_fee_percent"`
	AutomaticTax                  automaticTax        `json:"automatic_tax"`
	BillingCycleAnchor            int64               `json:"billing_cycle_anchor"`
	BillingCycleAnchorConfig      *struct{}           `json:"billing_cycle_anchor_config"`
	BillingThresholds             *struct{}           `json:"billing_thresholds"`
	CancelAt                      *int64              `json:"cancel_at"`
	CancelAtPeriodEnd             bool                `json:"cancel_at_period_end"`
	CanceledAt                    *int64              `json:"canceled_at"`
	CancellationDetails           cancellationDetails `json:"cancellation_details"`
	CollectionMethod              string              `json:"collection_method"`
	Created                       int64               `json:"created"`
	Currency                      string              `json:"currency"`
	CurrentPeriodEnd              int64               `json:"current_period_end"`
	CurrentPeriodStart            int64               `json:"current_period_start"`
	Customer                      string              `json:"customer"`
	DaysUntilDue                  *int64              `json:"days_until_due"`
	DefaultPaymentMethod          *string             `json:"default_payment_method"`
	DefaultSource                 *string             `json:"default_source"`
	DefaultTaxRates               []struct{}          `json:"default_tax_rates"`
	Description                   *string             `json:"description"`
	Discount                      *struct{}           `json:"discount"`
	EndedAt                       *int64              `json:"ended_at"`
	Items                         listOf[subItem]     `json:"items"`
	LatestInvoice                 *string             `json:"latest_invoice"`
	Livemode                      bool                `json:"livemode"`
	Metadata                      map[string]string   `json:"metadata"`
	NextPendingInvoiceItemInvoice *int64              `json:"next_pending_invoice_item_invoice"`
	OnBehalfOf                    *string             `json:"on_behalf_of"`
	PauseCollection               *struct{}           `json:"pause_collection"`
	PaymentSettings               paymentSettings     `json:"payment_settings"`
	PendingInvoiceItemInterval    *struct{}           `json:"pending_invoice_item_interval"`
	PendingSetupIntent            *string             `json:"pending_setup_intent"`
	PendingUpdate                 *pendingUpdate      `json:"pending_update"`
	Schedule                      *string             `json:"schedule"`
	StartDate                     int64               `json:"start_date"`
	Status                        string              `json:"status"`
	TestClock                     *string             `json:"test_clock"`
	TransferData                  *struct{}           `json:"transfer_data"`
	TrialEnd                      *int64              `json:"trial_end"`
	TrialSettings                 trialSettings       `json:"trial_settings"`
	TrialStart                    *int64              `json:"trial_start"`

	// TrialWillEndSentFor is the trial end for which
	// customer.subscription.trial_will_end was emitted (one per trial end).
	TrialWillEndSentFor int64 `json:"-"`
	// PendingProrations are proration lines waiting for the next invoice.
	PendingProrations []invoiceLine `json:"-"`
	// IncompleteExpiresAt is when an incomplete subscription expires.
	IncompleteExpiresAt int64 `json:"-"`
}

type automaticTax struct {
	Enabled   bool      `json:"enabled"`
	Liability *struct{} `json:"liability"`
}

type cancellationDetails struct {
	Comment  *string `json:"comment"`
	Feedback *string `json:"feedback"`
	Reason   *string `json:"reason"`
}

type paymentSettings struct {
	PaymentMethodOptions     *struct{} `json:"payment_method_options"`
	PaymentMethodTypes       []string  `json:"payment_method_types"`
	SaveDefaultPaymentMethod string    `json:"save_default_payment_method"`
}

type trialSettings struct {
	EndBehavior struct {
		MissingPaymentMethod string `json:"missing_payment_method"`
	} `json:"end_behavior"`
}

type pendingUpdate struct {
	BillingCycleAnchor *int64    `json:"billing_cycle_anchor"`
	ExpiresAt          int64     `json:"expires_at"`
	SubscriptionItems  []subItem `json:"subscription_items"`
	TrialEnd           *int64    `json:"trial_end"`
	TrialFromPlan      *bool     `json:"trial_from_plan"`
	// Invoice is the open invoice whose payment applies the update.
	Invoice string `json:"-"`
}

type subItem struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	BillingThresholds *struct{}         `json:"billing_thresholds"`
	Created           int64             `json:"created"`
	Discounts         []string          `json:"discounts"`
	Metadata          map[string]string `json:"metadata"`
	Plan              *plan             `json:"plan"`
	Price             price             `json:"price"`
	Quantity          int64             `json:"quantity"`
	Subscription      string            `json:"subscription"`
	TaxRates          []struct{}        `json:"tax_rates"`
}

func (s *subscription) objectID() string { return s.ID }
func (s *subscription) kind() string     { return "subscription" }

type invoice struct {
	ID                        *string             `json:"id"` // nil for the upcoming-invoice preview
	Object                    string              `json:"object"`
	AccountCountry            string              `json:"account_country"`
	AccountName               string              `json:"account_name"`
	AmountDue                 int64               `json:"amount_due"`
	AmountPaid                int64               `json:"amount_paid"`
	AmountRemaining           int64               `json:"amount_remaining"`
	AmountShipping            int64               `json:"amount_shipping"`
	Application               *string             `json:"application"`
	AttemptCount              int64               `json:"attempt_count"`
	Attempted                 bool                `json:"attempted"`
	AutoAdvance               bool                `json:"auto_advance"`
	AutomaticTax              automaticTax        `json:"automatic_tax"`
	BillingReason             string              `json:"billing_reason"`
	Charge                    *string             `json:"charge"`
	CollectionMethod          string              `json:"collection_method"`
	Created                   int64               `json:"created"`
	Currency                  string              `json:"currency"`
	Customer                  string              `json:"customer"`
	CustomerEmail             *string             `json:"customer_email"`
	CustomerName              *string             `json:"customer_name"`
	DefaultPaymentMethod      *string             `json:"default_payment_method"`
	Description               *string             `json:"description"`
	Discount                  *struct{}           `json:"discount"`
	Discounts                 []string            `json:"discounts"`
	DueDate                   *int64              `json:"due_date"`
	EffectiveAt               *int64              `json:"effective_at"`
	EndingBalance             *int64              `json:"ending_balance"`
	HostedInvoiceURL          *string             `json:"hosted_invoice_url"`
	InvoicePDF                *string             `json:"invoice_pdf"`
	LastFinalizationError     *struct{}           `json:"last_finalization_error"`
	Lines                     listOf[invoiceLine] `json:"lines"`
	Livemode                  bool                `json:"livemode"`
	Metadata                  map[string]string   `json:"metadata"`
	NextPaymentAttempt        *int64              `json:"next_payment_attempt"`
	Number                    *string             `json:"number"`
	Paid                      bool                `json:"paid"`
	PaidOutOfBand             bool                `json:"paid_out_of_band"`
	PaymentIntent             *string             `json:"payment_intent"`
	PeriodEnd                 int64               `json:"period_end"`
	PeriodStart               int64               `json:"period_start"`
	StartingBalance           int64               `json:"starting_balance"`
	Status                    *string             `json:"status"`
	StatusTransitions         statusTransitions   `json:"status_transitions"`
	Subscription              *string             `json:"subscription"`
	SubscriptionProrationDate *int64              `json:"subscription_proration_date,omitempty"`
	Subtotal                  int64               `json:"subtotal"`
	SubtotalExcludingTax      int64               `json:"subtotal_excluding_tax"`
	Tax                       *int64              `json:"tax"`
	TestClock                 *string             `json:"test_clock"`
	Total                     int64               `json:"total"`
	TotalDiscountAmounts      []struct{}          `json:"total_discount_amounts"`
	TotalExcludingTax         int64               `json:"total_excluding_tax"`
	TotalTaxAmounts           []struct{}          `json:"total_tax_amounts"`
	WebhooksDeliveredAt       *int64              `json:"webhooks_delivered_at"`
	// DunningEndsAt (sandbox only) is when the retry window of a failed
	// invoice that had no payment method to charge ends: Stripe schedules
	// no retry then (next_payment_attempt is null), and the retry
	// setting's outcome comes when the last retry would have been.
	DunningEndsAt int64 `json:"-"`
}

type statusTransitions struct {
	FinalizedAt           *int64 `json:"finalized_at"`
	MarkedUncollectibleAt *int64 `json:"marked_uncollectible_at"`
	PaidAt                *int64 `json:"paid_at"`
	VoidedAt              *int64 `json:"voided_at"`
}

type invoiceLine struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountExcludingTax int64             `json:"amount_excluding_tax"`
	Currency           string            `json:"currency"`
	Description        string            `json:"description"`
	Discountable       bool              `json:"discountable"`
	DiscountAmounts    []struct{}        `json:"discount_amounts"`
	Discounts          []string          `json:"discounts"`
	InvoiceItem        *string           `json:"invoice_item,omitempty"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	Period             struct {
		End   int64 `json:"end"`
		Start int64 `json:"start"`
	} `json:"period"`
	Plan             *plan      `json:"plan"`
	Price            price      `json:"price"`
	Proration        bool       `json:"proration"`
	Quantity         int64      `json:"quantity"`
	Subscription     *string    `json:"subscription"`
	SubscriptionItem *string    `json:"subscription_item"`
	TaxAmounts       []struct{} `json:"tax_amounts"`
	TaxRates         []struct{} `json:"tax_rates"`
	Type             string     `json:"type"`
}

func (i *invoice) objectID() string { return *i.ID }
func (i *invoice) kind() string     { return "invoice" }

type paymentMethod struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	BillingDetails billingDetails    `json:"billing_details"`
	Card           card              `json:"card"`
	Created        int64             `json:"created"`
	Customer       *string           `json:"customer"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Type           string            `json:"type"`

	// FailCharges marks the 4000 0000 0000 0341 card: it attaches, but
	// every charge fails.
	FailCharges bool `json:"-"`
	// NeedsAction marks the 4000 0027 6000 3184 card: charges made without
	// the customer require 3-D Secure (invoice.payment_action_required).
	NeedsAction bool `json:"-"`
}

type billingDetails struct {
	Address struct {
		City       *string `json:"city"`
		Country    *string `json:"country"`
		Line1      *string `json:"line1"`
		Line2      *string `json:"line2"`
		PostalCode *string `json:"postal_code"`
		State      *string `json:"state"`
	} `json:"address"`
	Email *string `json:"email"`
	Name  *string `json:"name"`
	Phone *string `json:"phone"`
}

type card struct {
	Brand  string `json:"brand"`
	Checks struct {
		AddressLine1Check      *string `json:"address_line1_check"`
		AddressPostalCodeCheck *string `json:"address_postal_code_check"`
		CVCCheck               *string `json:"cvc_check"`
	} `json:"checks"`
	Country       string  `json:"country"`
	DisplayBrand  string  `json:"display_brand"`
	ExpMonth      int64   `json:"exp_month"`
	ExpYear       int64   `json:"exp_year"`
	Fingerprint   string  `json:"fingerprint"`
	Funding       string  `json:"funding"`
	GeneratedFrom *string `json:"generated_from"`
	Last4         string  `json:"last4"`
	Networks      struct {
		Available []string `json:"available"`
		Preferred *string  `json:"preferred"`
	} `json:"networks"`
	ThreeDSecureUsage struct {
		Supported bool `json:"supported"`
	} `json:"three_d_secure_usage"`
	Wallet *struct{} `json:"wallet"`
}

func (p *paymentMethod) objectID() string { return p.ID }
func (p *paymentMethod) kind() string     { return "payment_method" }

type setupIntent struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Application        *string           `json:"application"`
	CancellationReason *string           `json:"cancellation_reason"`
	ClientSecret       string            `json:"client_secret"`
	Created            int64             `json:"created"`
	Customer           *string           `json:"customer"`
	Description        *string           `json:"description"`
	FlowDirections     []string          `json:"flow_directions"`
	LastSetupError     *struct{}         `json:"last_setup_error"`
	LatestAttempt      *string           `json:"latest_attempt"`
	Livemode           bool              `json:"livemode"`
	Mandate            *string           `json:"mandate"`
	Metadata           map[string]string `json:"metadata"`
	NextAction         *struct{}         `json:"next_action"`
	OnBehalfOf         *string           `json:"on_behalf_of"`
	PaymentMethod      *string           `json:"payment_method"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	SingleUseMandate   *string           `json:"single_use_mandate"`
	Status             string            `json:"status"`
	Usage              string            `json:"usage"`
}

func (s *setupIntent) objectID() string { return s.ID }
func (s *setupIntent) kind() string     { return "setup_intent" }

type checkoutSession struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	AfterExpiration           *struct{}         `json:"after_expiration"`
	AllowPromotionCodes       *bool             `json:"allow_promotion_codes"`
	AmountSubtotal            *int64            `json:"amount_subtotal"`
	AmountTotal               *int64            `json:"amount_total"`
	AutomaticTax              automaticTax      `json:"automatic_tax"`
	BillingAddressCollection  *string           `json:"billing_address_collection"`
	CancelURL                 *string           `json:"cancel_url"`
	ClientReferenceID         *string           `json:"client_reference_id"`
	ClientSecret              *string           `json:"client_secret"`
	Consent                   *struct{}         `json:"consent"`
	ConsentCollection         *struct{}         `json:"consent_collection"`
	Created                   int64             `json:"created"`
	Currency                  *string           `json:"currency"`
	CustomFields              []struct{}        `json:"custom_fields"`
	Customer                  *string           `json:"customer"`
	CustomerCreation          *string           `json:"customer_creation"`
	CustomerDetails           *customerDetails  `json:"customer_details"`
	CustomerEmail             *string           `json:"customer_email"`
	ExpiresAt                 int64             `json:"expires_at"`
	Invoice                   *string           `json:"invoice"`
	InvoiceCreation           *struct{}         `json:"invoice_creation"`
	Livemode                  bool              `json:"livemode"`
	Locale                    *string           `json:"locale"`
	Metadata                  map[string]string `json:"metadata"`
	Mode                      string            `json:"mode"`
	PaymentIntent             *string           `json:"payment_intent"`
	PaymentLink               *string           `json:"payment_link"`
	PaymentMethodCollection   *string           `json:"payment_method_collection"`
	PaymentMethodTypes        []string          `json:"payment_method_types"`
	PaymentStatus             string            `json:"payment_status"`
	RecoveredFrom             *string           `json:"recovered_from"`
	SetupIntent               *string           `json:"setup_intent"`
	ShippingAddressCollection *struct{}         `json:"shipping_address_collection"`
	ShippingDetails           *struct{}         `json:"shipping_details"`
	ShippingOptions           []struct{}        `json:"shipping_options"`
	Status                    string            `json:"status"`
	SubmitType                *string           `json:"submit_type"`
	Subscription              *string           `json:"subscription"`
	SuccessURL                *string           `json:"success_url"`
	UIMode                    string            `json:"ui_mode"`
	URL                       *string           `json:"url"`

	// What completing the session creates.
	LineItems        []checkoutLine    `json:"-"`
	SetupMetadata    map[string]string `json:"-"`
	SetupDescription *string           `json:"-"`
	SubTrialDays     int64             `json:"-"`
	SubTrialBehavior string            `json:"-"`
	SubMetadata      map[string]string `json:"-"`
}

type customerDetails struct {
	Address   *struct{}  `json:"address"`
	Email     *string    `json:"email"`
	Name      *string    `json:"name"`
	Phone     *string    `json:"phone"`
	TaxExempt string     `json:"tax_exempt"`
	TaxIDs    []struct{} `json:"tax_ids"`
}

type checkoutLine struct {
	Price    string
	Quantity int64
}

func (c *checkoutSession) objectID() string { return c.ID }
func (c *checkoutSession) kind() string     { return "checkout.session" }

type portalSession struct {
	ID            string    `json:"id"`
	Object        string    `json:"object"`
	Configuration string    `json:"configuration"`
	Created       int64     `json:"created"`
	Customer      string    `json:"customer"`
	Flow          *struct{} `json:"flow"`
	Livemode      bool      `json:"livemode"`
	Locale        *string   `json:"locale"`
	OnBehalfOf    *string   `json:"on_behalf_of"`
	ReturnURL     *string   `json:"return_url"`
	URL           string    `json:"url"`
}

func (p *portalSession) objectID() string { return p.ID }
func (p *portalSession) kind() string     { return "billing_portal.session" }

type webhookEndpoint struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	APIVersion    *string           `json:"api_version"`
	Application   *string           `json:"application"`
	Created       int64             `json:"created"`
	Description   *string           `json:"description"`
	EnabledEvents []string          `json:"enabled_events"`
	Livemode      bool              `json:"livemode"`
	Metadata      map[string]string `json:"metadata"`
	Secret        string            `json:"secret,omitempty"`
	Status        string            `json:"status"`
	URL           string            `json:"url"`

	// SigningSecret is kept; Secret is only shown in the create response.
	SigningSecret string `json:"-"`
}

func (w *webhookEndpoint) objectID() string { return w.ID }
func (w *webhookEndpoint) kind() string     { return "webhook_endpoint" }
