package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portal/portal/internal/requestid"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Config wires a Service. API and Store are required.
type Config struct {
	API       *client.API      // stripe-go client for the sandbox, stripe-mock or Stripe; never stripe.Key
	Store     store.Store      // the portal's store (bbolt or PostgreSQL)
	Catalog   Catalog          // zero: DefaultCatalog
	Now       func() time.Time // zero: time.Now; in sandbox mode the sandbox clock
	PublicURL string           // base for checkout and portal return URLs, e.g. http://localhost:8080
	TrialDays int              // zero: 30
	// TrialEndBehavior is what Stripe does when a trial the portal made
	// ends without a card (trial_settings.end_behavior.missing_payment_method):
	// "pause" (the default: locked until a card), "cancel" (the subscription
	// ends; the customer re-subscribes through Checkout) or "create_invoice"
	// (an invoice that cannot be paid: past due, then the retry setting's
	// outcome).
	TrialEndBehavior string
	// DowngradeAt is when a move to a cheaper paid plan of an active
	// subscription takes effect: "period_end" (the default, as Stripe's own
	// customer portal offers: a subscription schedule switches the price at
	// the current period's end, and the customer keeps what they paid for
	// until then) or "now" (at once, without proration).
	DowngradeAt string
	Logger      *slog.Logger // zero: discard
}

// accountStore is the part of store.Store the Service uses. It is an
// interface so tests can wrap the store and make it fail at a chosen moment.
type accountStore interface {
	Update(ctx context.Context, fn func(store.Tx) error) error
	PendingCheckout(accountID string) (store.PendingCheckout, error)
	Account(id string) (store.Account, error)
	AccountByCustomer(customerID string) (store.Account, error)
	UpdateAccount(id string, fn func(*store.Account) error) (store.Account, error)
	ForEachAccount(fn func(store.Account) bool) error
	EventProcessed(id string) (bool, error)
	ApplyEvent(ev store.Event, accountID string, fn func(*store.Account) error) (store.Account, bool, error)
	RecordEvent(ev store.Event) error
	AddNotice(n store.Notice) (store.Notice, bool, error)
	PutLink(token, target string, expires time.Time) error
	Link(token string, now time.Time) (string, error)
	DeleteExpiredLinks(now time.Time) (int, error)
}

// Service runs every billing action of the portal. It is safe for concurrent use.
type Service struct {
	api       *client.API
	db        accountStore
	cat       Catalog
	now       func() time.Time
	publicURL string
	trialDays int64
	trialEnd  string // Config.TrialEndBehavior
	downAt    string // Config.DowngradeAt
	log       *slog.Logger

	mu     sync.Mutex
	prices map[string]string // lookup key → price id
	// claiming counts, per account id, trial claims this process is making
	// or has sent to Stripe and not yet heard back about (trial.go).
	claiming map[string]int

	// quotes keeps each preview's proration date for the change it previews.
	quotes quotes

	stats webhookCounters
	// syncing orders each customer's fetch-derive-commit sequences (webhook
	// events, resyncs): without it an older fetch could commit after a newer one.
	syncing keyLock
	// checkouts makes one Checkout Session at a time per account (checkout).
	checkouts keyLock
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.API == nil || cfg.Store == nil {
		return nil, errors.New("billing: Config.API and Config.Store are required")
	}
	if len(cfg.Catalog.plans) == 0 {
		cfg.Catalog = DefaultCatalog()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TrialDays == 0 {
		cfg.TrialDays = 30
	}
	if cfg.TrialDays < 0 || cfg.TrialDays > 730 {
		return nil, fmt.Errorf("billing: trial of %d days: want 1 to 730", cfg.TrialDays)
	}
	switch cfg.TrialEndBehavior {
	case "":
		cfg.TrialEndBehavior = "pause"
	case "pause", "cancel", "create_invoice":
	default:
		return nil, fmt.Errorf("billing: trial end behavior %q: want pause, cancel or create_invoice", cfg.TrialEndBehavior)
	}
	switch cfg.DowngradeAt {
	case "":
		cfg.DowngradeAt = "period_end"
	case "period_end", "now":
	default:
		return nil, fmt.Errorf("billing: downgrade at %q: want period_end or now", cfg.DowngradeAt)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	return &Service{
		api: cfg.API, db: cfg.Store, cat: cfg.Catalog, now: cfg.Now,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), trialDays: int64(cfg.TrialDays), trialEnd: cfg.TrialEndBehavior, downAt: cfg.DowngradeAt, log: cfg.Logger,
		prices: map[string]string{}, claiming: map[string]int{},
	}, nil
}

// Catalog returns the plan catalog.
func (s *Service) Catalog() Catalog { return s.cat }

// Now returns the billing clock (the sandbox clock in sandbox mode), the one
// the trial countdown must read.
func (s *Service) Now() time.Time { return s.now() }

// TrialDays is the length of the trial a paid plan starts with, so screens
// promise exactly what ChoosePlan gives.
func (s *Service) TrialDays() int { return int(s.trialDays) }

// Link is a hosted Stripe page for the customer to open.
type Link struct {
	// URL is what to show: a short link, <PublicURL>/l/<token>, that
	// LinkHandler redirects to Target until ExpiresAt (or Target itself in
	// the rare case the short-link table is full).
	URL       string
	Target    string    // the Stripe page
	ExpiresAt time.Time // when the page (and the short link) expire
	SessionID string
}

// Preview is what a plan change would cost.
type Preview struct {
	PlanID     string
	Upgrade    bool
	AmountDue  int64 // charged now (prorated upgrade of a paid period), minor units
	Currency   string
	NextAmount int64     // the plan's amount on the next regular invoice
	NextAt     time.Time // when that invoice comes; zero when unknown
	// AtPeriodEnd is true when the change waits for the end of the paid
	// period (NextAt): a downgrade with DowngradeAt "period_end".
	AtPeriodEnd bool
}

// ChoosePlan puts the account on planID.
//
// Free is local: no Stripe call, unless the account has a live subscription,
// which is then canceled now (trialing or locked) or at the period end
// (paid and active), keeping the Stripe customer for later.
//
// A paid plan on an account whose trial is unused creates the Stripe customer
// (once) and a subscription with a TrialDays trial that pauses at its end
// when no card was added; the account is in trial as soon as Stripe accepts
// it. The trial is claimed in the store before Stripe is called, so of
// concurrent choices only one starts a trial. With the trial used,
// ChoosePlan returns ErrCardRequired and records the choice in the store
// (CardLink sells it); the screen that names the plan asks CheckoutLink
// for it directly.
// With a live subscription it is ChangePlan.
//
// When Stripe gave no answer to the trial subscription request, ChoosePlan
// returns ErrTrialPending, and keeps doing so for trialClaimGrace; after
// that it asks Stripe (see startTrial) and either adopts the subscription
// Stripe made after all or starts the trial afresh.
func (s *Service) ChoosePlan(ctx context.Context, accountID, planID string) (store.Account, error) {
	const op = "ChoosePlan"
	requestid.Logger(ctx, s.log).Info("billing: plan chosen", "account", accountID, "plan", planID)
	plan, ok := s.cat.Plan(planID)
	if !ok {
		return store.Account{}, wrap(op, ErrUnknownPlan)
	}
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	hasLive := acct.SubscriptionID != "" && live(stripe.SubscriptionStatus(acct.SubscriptionStatus))
	if hasLive {
		return s.changePlan(ctx, op, acct, plan)
	}
	if plan.Free() {
		s.forgetPending(accountID)
		return s.commit(op, accountID, func(a *store.Account) { a.Plan = PlanFree }, nil)
	}
	return s.startTrial(ctx, op, accountID, plan)
}

// unanswered reports whether a failed Stripe write may still have happened:
// no reply (transport error, timeout, canceled context), a server error, or
// a conflict with a request still in progress.
func unanswered(err error) bool {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return true
	}
	return se.HTTPStatusCode == 0 || se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusConflict
}

// ChangePlan moves a subscribed account to planID. Upgrades of a paid period
// are invoiced now (proration always_invoice) and only take effect once paid
// (payment_behavior pending_if_incomplete); downgrades and changes during the
// trial are not prorated, and a downgrade of an active subscription waits
// for the period end unless Config.DowngradeAt is "now" (scheduleDowngrade).
// Choosing the current plan again undoes a scheduled change; any other
// change replaces it. To free: cancel at the period end when paid and
// active, cancel now when trialing or locked. Without a live subscription it
// is ChoosePlan.
func (s *Service) ChangePlan(ctx context.Context, accountID, planID string) (store.Account, error) {
	const op = "ChangePlan"
	plan, ok := s.cat.Plan(planID)
	if !ok {
		return store.Account{}, wrap(op, ErrUnknownPlan)
	}
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if acct.SubscriptionID == "" || !live(stripe.SubscriptionStatus(acct.SubscriptionStatus)) {
		return s.ChoosePlan(ctx, accountID, planID)
	}
	return s.changePlan(ctx, op, acct, plan)
}

func (s *Service) changePlan(ctx context.Context, op string, acct store.Account, plan Plan) (store.Account, error) {
	status := stripe.SubscriptionStatus(acct.SubscriptionStatus)
	if acct.ScheduleID != "" && (acct.Plan != plan.ID || acct.ScheduledPlan != "") && plan.ID != acct.ScheduledPlan {
		// Another change replaces the scheduled one; Stripe refuses direct
		// changes to a subscription its schedule manages.
		var err error
		if acct, err = s.releaseSchedule(ctx, op, acct); err != nil {
			return store.Account{}, err
		}
	}
	if plan.Free() {
		s.forgetPending(acct.ID)
		if status == stripe.SubscriptionStatusActive {
			if acct.CancelAtPeriodEnd {
				return acct, nil
			}
			return s.setCancelAtPeriodEnd(ctx, op, acct, true)
		}
		p := &stripe.SubscriptionCancelParams{}
		p.Context = ctx
		p.SetIdempotencyKey("portal-cancel-" + acct.SubscriptionID)
		expandSubscription(&p.Params)
		sub, err := s.api.Subscriptions.Cancel(acct.SubscriptionID, p)
		if err != nil {
			return store.Account{}, wrap(op, err)
		}
		return s.commit(op, acct.ID, func(a *store.Account) { a.Plan = PlanFree }, s.snapshot(sub))
	}
	switch status {
	case stripe.SubscriptionStatusPaused, stripe.SubscriptionStatusUnpaid:
		// Locked: the card comes first (CardLink resumes or pays), then the change.
		return acct, wrap(op, ErrCardRequired)
	}
	if acct.Plan == plan.ID || acct.ScheduledPlan == plan.ID {
		return acct, nil
	}
	sub, err := s.fetchSubscription(ctx, acct.SubscriptionID)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	snap := s.snapshot(sub)
	if snap.ItemID == "" {
		return store.Account{}, wrap(op, fmt.Errorf("subscription %s has no item to change", sub.ID))
	}
	price, err := s.priceID(ctx, plan)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	cur, _ := s.cat.Plan(acct.Plan)
	if s.downgradesAtPeriodEnd(acct, cur, plan) {
		return s.scheduleDowngrade(ctx, op, acct, sub, plan, price)
	}
	p := &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(snap.ItemID), Price: stripe.String(price)}},
		ProrationBehavior: stripe.String("none"),
	}
	if plan.Amount > cur.Amount && status != stripe.SubscriptionStatusTrialing {
		p.ProrationBehavior = stripe.String("always_invoice")
		p.PaymentBehavior = stripe.String("pending_if_incomplete")
		// Invoice exactly what the preview showed.
		if at, ok := s.quotes.take(acct.ID, plan.ID, s.now()); ok {
			p.ProrationDate = stripe.Int64(at.Unix())
		}
	}
	p.Context = ctx
	p.SetIdempotencyKey(fmt.Sprintf("portal-change-%s-%s-v%d", acct.ID, plan.ID, acct.Version))
	expandSubscription(&p.Params)
	sub, err = s.api.Subscriptions.Update(acct.SubscriptionID, p)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	return s.commit(op, acct.ID, nil, s.snapshot(sub))
}

// downgradesAtPeriodEnd reports whether moving acct from cur to the paid
// plan next waits for the end of the paid period.
func (s *Service) downgradesAtPeriodEnd(acct store.Account, cur, next Plan) bool {
	return s.downAt == "period_end" && !next.Free() && next.Amount < cur.Amount &&
		stripe.SubscriptionStatus(acct.SubscriptionStatus) == stripe.SubscriptionStatusActive
}

// scheduleDowngrade moves acct to plan at the end of the current period
// through a subscription schedule, as Stripe's customer portal does: one
// phase on the current price until current_period_end, then the new price,
// after which the schedule releases the subscription. A schedule left by an
// earlier attempt (or an earlier scheduled change) is reused.
func (s *Service) scheduleDowngrade(ctx context.Context, op string, acct store.Account, sub *stripe.Subscription, plan Plan, price string) (store.Account, error) {
	snap := s.snapshot(sub)
	var sched *stripe.SubscriptionSchedule
	var err error
	if snap.ScheduleID == "" {
		p := &stripe.SubscriptionScheduleParams{FromSubscription: stripe.String(sub.ID)}
		p.Context = ctx
		p.SetIdempotencyKey(fmt.Sprintf("portal-schedule-%s-v%d", sub.ID, acct.Version))
		sched, err = s.api.SubscriptionSchedules.New(p)
	} else {
		p := &stripe.SubscriptionScheduleParams{}
		p.Context = ctx
		sched, err = s.api.SubscriptionSchedules.Get(snap.ScheduleID, p)
	}
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	start := sub.CurrentPeriodStart
	if sched.CurrentPhase != nil {
		start = sched.CurrentPhase.StartDate
	}
	up := &stripe.SubscriptionScheduleParams{
		EndBehavior: stripe.String("release"),
		Phases: []*stripe.SubscriptionSchedulePhaseParams{{
			Items:             []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(snap.PriceID), Quantity: stripe.Int64(1)}},
			StartDate:         stripe.Int64(start),
			EndDate:           stripe.Int64(sub.CurrentPeriodEnd),
			ProrationBehavior: stripe.String("none"),
		}, {
			Items:             []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
			Iterations:        stripe.Int64(1),
			ProrationBehavior: stripe.String("none"),
		}},
		Metadata: map[string]string{"account_id": acct.ID, "plan": plan.ID},
	}
	up.Context = ctx
	up.SetIdempotencyKey(fmt.Sprintf("portal-schedule-%s-%s-v%d", sched.ID, plan.ID, acct.Version))
	if _, err := s.api.SubscriptionSchedules.Update(sched.ID, up); err != nil {
		return store.Account{}, wrap(op, err)
	}
	if sub, err = s.fetchSubscription(ctx, sub.ID); err != nil {
		return store.Account{}, wrap(op, err)
	}
	at := unixTime(sub.CurrentPeriodEnd)
	return s.commit(op, acct.ID, func(a *store.Account) {
		a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = sched.ID, plan.ID, at
	}, s.snapshot(sub))
}

// UndoDowngrade withdraws a change scheduled for the period end (releases
// the schedule): the account stays on its plan.
func (s *Service) UndoDowngrade(ctx context.Context, accountID string) (store.Account, error) {
	const op = "UndoDowngrade"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if acct.ScheduledPlan == "" {
		return acct, nil
	}
	return s.releaseSchedule(ctx, op, acct)
}

// releaseSchedule releases acct's schedule; the subscription keeps its
// current price. A schedule that already ended (released elsewhere, or
// completed) counts as released.
func (s *Service) releaseSchedule(ctx context.Context, op string, acct store.Account) (store.Account, error) {
	p := &stripe.SubscriptionScheduleReleaseParams{}
	p.Context = ctx
	p.SetIdempotencyKey("portal-release-" + acct.ScheduleID)
	_, relErr := s.api.SubscriptionSchedules.Release(acct.ScheduleID, p)
	sub, err := s.fetchSubscription(ctx, acct.SubscriptionID)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	if relErr != nil && sub.Schedule != nil && sub.Schedule.ID == acct.ScheduleID {
		return store.Account{}, wrap(op, relErr)
	}
	return s.commit(op, acct.ID, nil, s.snapshot(sub))
}

// CancelAtPeriodEnd asks Stripe to end the subscription when the current
// period (or trial) ends; the account shows as canceling until then.
func (s *Service) CancelAtPeriodEnd(ctx context.Context, accountID string) (store.Account, error) {
	return s.cancelFlag(ctx, "CancelAtPeriodEnd", accountID, true)
}

// UndoCancel withdraws a pending cancel-at-period-end.
func (s *Service) UndoCancel(ctx context.Context, accountID string) (store.Account, error) {
	return s.cancelFlag(ctx, "UndoCancel", accountID, false)
}

func (s *Service) cancelFlag(ctx context.Context, op, accountID string, cancel bool) (store.Account, error) {
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if acct.SubscriptionID == "" || !live(stripe.SubscriptionStatus(acct.SubscriptionStatus)) {
		return acct, wrap(op, ErrNoSubscription)
	}
	if acct.CancelAtPeriodEnd == cancel {
		return acct, nil
	}
	return s.setCancelAtPeriodEnd(ctx, op, acct, cancel)
}

func (s *Service) setCancelAtPeriodEnd(ctx context.Context, op string, acct store.Account, cancel bool) (store.Account, error) {
	if cancel && acct.ScheduleID != "" {
		// Stripe refuses cancel_at_period_end on a subscription its schedule
		// manages; leaving replaces the scheduled change.
		var err error
		if acct, err = s.releaseSchedule(ctx, op, acct); err != nil {
			return store.Account{}, err
		}
	}
	p := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(cancel)}
	p.Context = ctx
	p.SetIdempotencyKey(fmt.Sprintf("portal-cancel-at-period-end-%s-%t-v%d", acct.SubscriptionID, cancel, acct.Version))
	expandSubscription(&p.Params)
	sub, err := s.api.Subscriptions.Update(acct.SubscriptionID, p)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	return s.commit(op, acct.ID, nil, s.snapshot(sub))
}

// CardLink returns a hosted Checkout page for the account. With a live
// subscription it is a setup-mode session that saves a card (the webhook then
// makes it the customer's default and resumes a paused subscription or pays
// an open invoice). Without one (canceled, or a paid plan chosen after the
// trial was used) it is a subscription-mode session for the chosen plan,
// without a trial. Links expire; a new one can be made at any time.
func (s *Service) CardLink(ctx context.Context, accountID string) (Link, error) {
	const op = "CardLink"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	if acct.SubscriptionID == "" || !live(stripe.SubscriptionStatus(acct.SubscriptionStatus)) {
		// The paid plan chosen while a card was needed, kept in the store
		// so that it survives a restart; else the account's plan.
		planID := acct.Plan
		pending, err := s.db.PendingCheckout(accountID)
		switch {
		case err == nil:
			planID = pending.Plan
		case !errors.Is(err, store.ErrNotFound):
			return Link{}, wrap(op, storeErr(err))
		}
		link, err := s.CheckoutLink(ctx, accountID, planID)
		if err == nil && pending.Plan != "" {
			pending.SessionID = link.SessionID
			s.setPending(pending)
		}
		return link, err
	}
	if acct, err = s.ensureCustomer(ctx, acct); err != nil {
		return Link{}, wrap(op, err)
	}
	meta := map[string]string{"account_id": acct.ID, "subscription_id": acct.SubscriptionID}
	p := &stripe.CheckoutSessionParams{
		Mode:            stripe.String(string(stripe.CheckoutSessionModeSetup)),
		Customer:        stripe.String(acct.CustomerID),
		Currency:        stripe.String(s.currency(acct)),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{Metadata: meta},
		Metadata:        meta,
	}
	return s.checkout(ctx, op, acct.ID, p)
}

// CheckoutLink returns a subscription-mode Checkout page that starts planID
// (a paid plan) without a trial: for accounts whose trial is used and whose
// subscription is gone. CardLink calls it when there is no live subscription.
func (s *Service) CheckoutLink(ctx context.Context, accountID, planID string) (Link, error) {
	const op = "CheckoutLink"
	plan, ok := s.cat.Plan(planID)
	if !ok || plan.Free() {
		return Link{}, wrap(op, ErrNoSubscription)
	}
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	if acct.SubscriptionID != "" && live(stripe.SubscriptionStatus(acct.SubscriptionStatus)) {
		// Selling a plan to an account that has one would make a second
		// subscription (a screen opened before another session subscribed).
		return Link{}, &Error{Op: op, Msg: "Your account already has a subscription: go back to see it, and change plan from there.",
			Err: fmt.Errorf("account %s has live subscription %s", acct.ID, acct.SubscriptionID)}
	}
	if acct, err = s.ensureCustomer(ctx, acct); err != nil {
		return Link{}, wrap(op, err)
	}
	price, err := s.priceID(ctx, plan)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	meta := map[string]string{"account_id": acct.ID, "plan": plan.ID}
	p := &stripe.CheckoutSessionParams{
		Mode:             stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:         stripe.String(acct.CustomerID),
		LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
		Metadata:         meta,
	}
	return s.checkout(ctx, op, acct.ID, p)
}

// checkout creates the Checkout Session p for account accountID with the
// portal's return pages, expires the account's earlier open sessions (see
// expireOtherCheckouts) and hands out the new one's short link.
func (s *Service) checkout(ctx context.Context, op, accountID string, p *stripe.CheckoutSessionParams) (Link, error) {
	// One link at a time per account: two concurrent requests must not
	// each expire the other's session.
	defer s.checkouts.lock(accountID)()
	p.SuccessURL = stripe.String(s.publicURL + "/checkout/success?session_id={CHECKOUT_SESSION_ID}")
	p.CancelURL = stripe.String(s.publicURL + "/checkout/cancel")
	p.Context = ctx
	sess, err := s.api.CheckoutSessions.New(p)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	if err := s.expireOtherCheckouts(ctx, stripe.StringValue(p.Customer), accountID, sess.ID); err != nil {
		return Link{}, wrap(op, err)
	}
	return s.shorten(Link{URL: sess.URL, ExpiresAt: unixTime(sess.ExpiresAt), SessionID: sess.ID}, checkoutLinkTTL), nil
}

// PortalLink returns a Stripe customer portal session (card, invoices,
// cancel). Its short link lives 24 hours.
func (s *Service) PortalLink(ctx context.Context, accountID string) (Link, error) {
	const op = "PortalLink"
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Link{}, wrap(op, storeErr(err))
	}
	if acct.CustomerID == "" {
		return Link{}, wrap(op, ErrNoSubscription)
	}
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(acct.CustomerID), ReturnURL: stripe.String(s.publicURL + "/")}
	p.Context = ctx
	sess, err := s.api.BillingPortalSessions.New(p)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	return s.shorten(Link{URL: sess.URL, SessionID: sess.ID}, portalLinkTTL), nil
}

// PreviewChange tells what moving to planID would cost: the amount charged
// now (the prorated difference of an upgrade of a paid period, from Stripe's
// upcoming invoice) and the next regular amount.
func (s *Service) PreviewChange(ctx context.Context, accountID, planID string) (Preview, error) {
	const op = "PreviewChange"
	plan, ok := s.cat.Plan(planID)
	if !ok {
		return Preview{}, wrap(op, ErrUnknownPlan)
	}
	acct, err := s.db.Account(accountID)
	if err != nil {
		return Preview{}, wrap(op, storeErr(err))
	}
	cur, _ := s.cat.Plan(acct.Plan)
	pv := Preview{PlanID: plan.ID, Upgrade: plan.Amount > cur.Amount, Currency: plan.Currency, NextAmount: plan.Amount}
	status := stripe.SubscriptionStatus(acct.SubscriptionStatus)
	if acct.SubscriptionID == "" || !live(status) {
		if !plan.Free() && acct.TrialUsed {
			pv.AmountDue = plan.Amount
		} else if !plan.Free() {
			pv.NextAt = s.now().AddDate(0, 0, int(s.trialDays))
		}
		return pv, nil
	}
	switch {
	case plan.Free():
		pv.NextAmount = 0
		return pv, nil
	case status == stripe.SubscriptionStatusTrialing:
		pv.NextAt = acct.TrialEnd
		return pv, nil
	}
	pv.NextAt = acct.CurrentPeriodEnd
	if !pv.Upgrade {
		pv.AtPeriodEnd = s.downgradesAtPeriodEnd(acct, cur, plan)
		return pv, nil
	}
	sub, err := s.fetchSubscription(ctx, acct.SubscriptionID)
	if err != nil {
		return Preview{}, wrap(op, err)
	}
	snap := s.snapshot(sub)
	price, err := s.priceID(ctx, plan)
	if err != nil {
		return Preview{}, wrap(op, err)
	}
	at := s.now().Truncate(time.Second)
	s.quotes.put(acct.ID, plan.ID, at)
	p := &stripe.InvoiceUpcomingParams{
		Customer:                      stripe.String(acct.CustomerID),
		Subscription:                  stripe.String(acct.SubscriptionID),
		SubscriptionItems:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(snap.ItemID), Price: stripe.String(price)}},
		SubscriptionProrationBehavior: stripe.String("always_invoice"),
		SubscriptionProrationDate:     stripe.Int64(at.Unix()),
	}
	p.Context = ctx
	inv, err := s.api.Invoices.Upcoming(p)
	if err != nil {
		return Preview{}, wrap(op, err)
	}
	if inv.Currency != "" {
		pv.Currency = string(inv.Currency)
	}
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			if l != nil && l.Proration {
				pv.AmountDue += l.Amount
			}
		}
	}
	return pv, nil
}

// ExtendTrial gives the account days more trial (an ops action): trial_end
// moves to days after the later of the current trial end and now. Only a
// trialing or paused subscription (as fetched from Stripe) can be extended;
// any other status is refused with an *Error.
//
// A paused subscription (trial over, no card) cannot simply be resumed into a
// trial: resuming starts a paid period and invoices it at once (at Stripe and
// in the sandbox), and trial_end cannot be set on the past_due result. So it
// is replaced: a new subscription on the same price with the extended trial
// is created first (the webhook adopts it), then the paused one is canceled.
func (s *Service) ExtendTrial(ctx context.Context, accountID string, days int) (store.Account, error) {
	const op = "ExtendTrial"
	if days < 1 || days > 365 {
		return store.Account{}, &Error{Op: op, Msg: "Extend by 1 to 365 days.", Err: fmt.Errorf("days %d out of range", days)}
	}
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	if acct.SubscriptionID == "" || !live(stripe.SubscriptionStatus(acct.SubscriptionStatus)) {
		return acct, wrap(op, ErrNoSubscription)
	}
	sub, err := s.fetchSubscription(ctx, acct.SubscriptionID)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	// Stripe's truth decides, not the stored status: trial_end on an active
	// (or past_due, unpaid) subscription would hand a paying customer free time.
	if sub.Status != stripe.SubscriptionStatusTrialing && sub.Status != stripe.SubscriptionStatusPaused {
		return acct, &Error{Op: op, Msg: "Only a trial (running, or ended without a card) can be extended: this subscription is " +
			strings.ReplaceAll(string(sub.Status), "_", " ") + ".",
			Err: fmt.Errorf("subscription %s is %s, not trialing or paused", sub.ID, sub.Status)}
	}
	base := s.now()
	if te := unixTime(sub.TrialEnd); te.After(base) {
		base = te
	}
	trialEnd := base.AddDate(0, 0, days).Unix()
	key := fmt.Sprintf("%s-v%d", acct.SubscriptionID, acct.Version)
	if sub.Status == stripe.SubscriptionStatusTrialing {
		if sub, err = s.setTrialEnd(ctx, acct.SubscriptionID, trialEnd, key); err != nil {
			return store.Account{}, wrap(op, err)
		}
		return s.commit(op, acct.ID, nil, s.snapshot(sub))
	}
	fresh, err := s.replacePaused(ctx, acct.ID, sub, trialEnd, key)
	if err != nil {
		return store.Account{}, wrap(op, err)
	}
	return s.commit(op, acct.ID, nil, s.snapshot(fresh))
}

// setTrialEnd moves the trial end of the trialing subscription subID.
func (s *Service) setTrialEnd(ctx context.Context, subID string, trialEnd int64, key string) (*stripe.Subscription, error) {
	p := &stripe.SubscriptionParams{TrialEnd: stripe.Int64(trialEnd), ProrationBehavior: stripe.String("none")}
	p.Context = ctx
	p.SetIdempotencyKey("portal-extend-" + key)
	expandSubscription(&p.Params)
	return s.api.Subscriptions.Update(subID, p)
}

// replacePaused creates a trialing copy of the paused subscription sub, ending
// its trial at trialEnd, then cancels sub. Creating first means the account
// always has a live subscription for webhooks to adopt.
func (s *Service) replacePaused(ctx context.Context, accountID string, sub *stripe.Subscription, trialEnd int64, key string) (*stripe.Subscription, error) {
	snap := s.snapshot(sub)
	if snap.PriceID == "" || snap.CustomerID == "" {
		return nil, fmt.Errorf("paused subscription %s has no price or customer", sub.ID)
	}
	np := &stripe.SubscriptionParams{
		Customer: stripe.String(snap.CustomerID),
		Items:    []*stripe.SubscriptionItemsParams{{Price: stripe.String(snap.PriceID)}},
		TrialEnd: stripe.Int64(trialEnd),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{
			EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{MissingPaymentMethod: stripe.String(s.trialEnd)},
		},
		Metadata: map[string]string{"account_id": accountID, "plan": snap.PlanID, "replaces": sub.ID},
	}
	np.Context = ctx
	np.SetIdempotencyKey("portal-extend-new-" + key)
	expandSubscription(&np.Params)
	fresh, err := s.api.Subscriptions.New(np)
	if err != nil {
		return nil, err
	}
	cp := &stripe.SubscriptionCancelParams{}
	cp.Context = ctx
	cp.SetIdempotencyKey("portal-cancel-" + sub.ID)
	if _, err := s.api.Subscriptions.Cancel(sub.ID, cp); err != nil {
		return nil, err
	}
	return fresh, nil
}

// Resync re-fetches the account's subscription from Stripe, derives the
// state, commits it and sets LastSyncAt. Without a live subscription in the
// store it lists the customer's subscriptions and adopts the newest live one
// of the account. It also settles a trial claim older than trialClaimGrace
// (TrialClaimPending): kept when Stripe has a subscription of the account
// with a trial or a live one (which is adopted), released when it has none.
// A failed listing changes nothing.
func (s *Service) Resync(ctx context.Context, accountID string) (store.Account, error) {
	_, after, err := s.resync(ctx, accountID, nil)
	return after, wrap("Resync", err)
}

func (s *Service) resync(ctx context.Context, accountID string, audit auditFn) (before, after store.Account, err error) {
	acct, err := s.db.Account(accountID)
	if err != nil {
		return acct, acct, storeErr(err)
	}
	defer s.syncing.lock(acct.CustomerID)()
	// Judged before Stripe is asked: a request of this process that ended
	// after the listing could have made what the listing missed.
	stale := s.claimStale(acct)
	subID := acct.SubscriptionID
	var found accountSubscriptions
	if acct.CustomerID != "" && !live(stripe.SubscriptionStatus(acct.SubscriptionStatus)) {
		// A live subscription the store does not know (a missed checkout
		// webhook) wins over the stored dead one.
		if found, err = s.listSubscriptions(ctx, acct); err != nil {
			return acct, acct, err
		}
		if found.live != nil {
			subID = found.live.ID
		}
	}
	if stale && found.live == nil && found.trial != nil {
		// The claimed trial was granted and has ended since: record it.
		subID = found.trial.ID
	}
	var snap *Snapshot
	if subID != "" {
		sub, err := s.fetchSubscription(ctx, subID)
		switch {
		case isMissing(err):
			// The subscription is gone from Stripe: no subscription.
		case err != nil:
			return acct, acct, err
		default:
			snap = s.snapshot(sub)
			next, _, err := s.successor(ctx, acct, snap)
			if err != nil {
				return acct, acct, err
			}
			if next != nil {
				snap = next
			}
		}
	}
	var prev store.Account
	var settled claimOutcome
	after, err = s.commitAudited(accountID, func(a *store.Account) {
		prev = *a
		settled = claimKept
		if stale {
			settled = settleClaim(a, acct, found)
		}
	}, snap, audit)
	if err == nil {
		s.logSettled(acct, found, settled)
	}
	return prev, after, err
}

// accountSubscriptions is what a listing of the account's Stripe customer
// found among the subscriptions that belong to the account (BelongsTo:
// subscriptions of other integrations are skipped).
type accountSubscriptions struct {
	live  *stripe.Subscription // the newest live one
	trial *stripe.Subscription // the newest that had a trial, in any status
}

// listSubscriptions lists every subscription of the account's customer
// (status=all, all pages: a trial claim is only released when none of them
// is the account's).
func (s *Service) listSubscriptions(ctx context.Context, acct store.Account) (accountSubscriptions, error) {
	p := &stripe.SubscriptionListParams{Customer: stripe.String(acct.CustomerID), Status: stripe.String("all")}
	p.Context = ctx
	p.Limit = stripe.Int64(100)
	it := s.api.Subscriptions.List(p)
	var found accountSubscriptions
	newer := func(sub, than *stripe.Subscription) bool { return than == nil || sub.Created > than.Created }
	for it.Next() {
		sub := it.Subscription()
		if sub == nil {
			continue
		}
		snap := s.snapshot(sub)
		if !snap.BelongsTo(acct.ID) {
			continue
		}
		if live(sub.Status) && newer(sub, found.live) {
			found.live = sub
		}
		if !snap.TrialEnd.IsZero() && newer(sub, found.trial) {
			found.trial = sub
		}
	}
	if err := it.Err(); err != nil {
		return accountSubscriptions{}, err
	}
	return found, nil
}

// drifted reports whether the fields the customer sees differ.
func drifted(a, b store.Account) bool {
	return a.State != b.State || a.Plan != b.Plan || a.HasCard != b.HasCard || a.TrialUsed != b.TrialUsed ||
		a.SubscriptionID != b.SubscriptionID || a.SubscriptionStatus != b.SubscriptionStatus ||
		a.CancelAtPeriodEnd != b.CancelAtPeriodEnd || a.PaymentPending != b.PaymentPending ||
		!a.TrialEnd.Equal(b.TrialEnd) || !a.CurrentPeriodEnd.Equal(b.CurrentPeriodEnd)
}

func summary(a store.Account) string {
	return fmt.Sprintf("state=%s plan=%s card=%t sub=%s status=%s cancel_at_period_end=%t pending=%t trial_used=%t trial_end=%s period_end=%s",
		a.State, a.Plan, a.HasCard, a.SubscriptionID, a.SubscriptionStatus, a.CancelAtPeriodEnd, a.PaymentPending,
		a.TrialUsed, fmtTime(a.TrialEnd), fmtTime(a.CurrentPeriodEnd))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// RunReconciler resyncs, at start and then every interval, each account with
// a Stripe customer whose LastSyncAt (by the billing clock) is older than
// staleAfter, so a missed webhook heals on its own, and each account whose
// trial claim has waited longer than trialClaimGrace for Stripe's answer,
// so a claim Stripe never honoured is released even if the customer never
// comes back (see Resync). A resync that changed what the customer sees
// (trial used included) is logged and recorded as an audit entry with Actor
// "reconciler" (Before/After summaries) for the ops view. It returns when
// ctx is done.
func (s *Service) RunReconciler(ctx context.Context, every, staleAfter time.Duration) {
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.ReconcileOnce(ctx, staleAfter)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReconcileOnce is one pass of RunReconciler; it returns how many accounts it
// resynced and how many of them had drifted.
func (s *Service) ReconcileOnce(ctx context.Context, staleAfter time.Duration) (synced, drift int) {
	cutoff := s.now().Add(-staleAfter)
	var ids []string
	err := s.db.ForEachAccount(func(a store.Account) bool {
		if a.CustomerID != "" && a.LastSyncAt.Before(cutoff) || s.claimStale(a) {
			ids = append(ids, a.ID)
		}
		return true
	})
	if err != nil {
		s.log.Error("reconciler: list accounts", "err", err)
		return 0, 0
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return synced, drift
		}
		// The drift's audit entry commits with the resync that heals it.
		before, after, err := s.resync(ctx, id, func(before, after store.Account) (store.AuditEntry, bool) {
			return store.AuditEntry{
				Actor: "reconciler", AccountID: id, Action: "drift", Before: summary(before), After: summary(after), At: s.now(),
			}, drifted(before, after)
		})
		if err != nil {
			s.log.Warn("reconciler: resync failed", "account", id, "err", err)
			continue
		}
		synced++
		if !drifted(before, after) {
			continue
		}
		drift++
		s.log.Warn("reconciler: drift healed", "account", id, "before", summary(before), "after", summary(after))
	}
	return synced, drift
}

// commit runs mutate (if any) and Derive(snap) on the account, sets
// LastSyncAt and records the notices the change implies, all in one store
// transaction.
// Plan actions commit Stripe's reply to their write through it, under the
// customer's sync lock: a webhook holding the lock fetched before the write
// and commits first, and one that takes the lock after this commit fetches
// after the write, so an older snapshot never lands on top of the action.
func (s *Service) commit(op, accountID string, mutate func(*store.Account), snap *Snapshot) (store.Account, error) {
	acct, err := s.db.Account(accountID)
	if err != nil {
		return store.Account{}, wrap(op, storeErr(err))
	}
	defer s.syncing.lock(acct.CustomerID)()
	acct, err = s.commitWith(accountID, mutate, snap)
	return acct, wrap(op, err)
}

func (s *Service) commitWith(accountID string, mutate func(*store.Account), snap *Snapshot) (store.Account, error) {
	return s.commitAudited(accountID, mutate, snap, nil)
}

// auditFn decides, from the account before and after a change, the audit
// entry the change writes with it (ok false: none).
type auditFn func(before, after store.Account) (e store.AuditEntry, ok bool)

// commitAudited is commitWith that also writes audit's entry: the account
// update, the notices of its transition and the audit entry commit in one
// transaction, so none is ever lost without the others.
func (s *Service) commitAudited(accountID string, mutate func(*store.Account), snap *Snapshot, audit auditFn) (store.Account, error) {
	var acct store.Account
	err := s.db.Update(context.Background(), func(tx store.Tx) error {
		var notes []store.Notice
		var before store.Account
		var err error
		acct, err = tx.UpdateAccount(accountID, func(a *store.Account) error {
			before = *a
			return s.deriveFn(mutate, snap, &notes)(a)
		})
		if err != nil {
			return err
		}
		if err := addNotices(tx, notes); err != nil {
			return err
		}
		if err := settlePending(tx, acct); err != nil {
			return err
		}
		if audit != nil {
			if e, ok := audit(before, acct); ok {
				if _, err := tx.AppendAudit(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return store.Account{}, storeErr(err)
	}
	return acct, nil
}

// deriveFn returns the store update shared by the service and the webhook:
// mutate, Derive(snap), LastSyncAt, and the notices of the transition into
// *notes. The store may run it more than once: it resets *notes.
func (s *Service) deriveFn(mutate func(*store.Account), snap *Snapshot, notes *[]store.Notice) func(*store.Account) error {
	return s.updateFn(mutate, snap, true, notes)
}

// updateFn is deriveFn; with derive false it only applies mutate (a card
// seen without its subscription must not be read as "no subscription").
func (s *Service) updateFn(mutate func(*store.Account), snap *Snapshot, derive bool, notes *[]store.Notice) func(*store.Account) error {
	now := s.now()
	return func(a *store.Account) error {
		before := *a
		if mutate != nil {
			mutate(a)
		}
		if derive {
			*a = Derive(*a, snap)
			a.LastSyncAt = now
			// The renewal at a scheduled change is invoiced at the new plan.
			if p, ok := s.cat.Plan(a.ScheduledPlan); ok && !a.NextInvoiceAt.IsZero() && !a.NextInvoiceAt.Before(a.ScheduledAt) {
				a.NextInvoiceAmount = p.Amount
			}
		}
		*notes = s.transitionNotices(before, *a, now)
		return nil
	}
}

// addNotices records notes in the change's transaction (each once: see
// store.Tx.AddNotice).
func addNotices(tx store.Tx, notes []store.Notice) error {
	for _, n := range notes {
		if _, _, err := tx.AddNotice(n); err != nil {
			return fmt.Errorf("notice %s: %w", n.Kind, err)
		}
	}
	return nil
}

// ensureCustomer creates the account's Stripe customer on first need (one per
// account: idempotency key and a check under the store's lock).
func (s *Service) ensureCustomer(ctx context.Context, acct store.Account) (store.Account, error) {
	if acct.CustomerID != "" {
		return acct, nil
	}
	p := &stripe.CustomerParams{Email: stripe.String(acct.Email), Metadata: map[string]string{"account_id": acct.ID}}
	p.Context = ctx
	p.SetIdempotencyKey("portal-customer-" + acct.ID)
	c, err := s.api.Customers.New(p)
	if err != nil {
		return acct, err
	}
	acct, err = s.db.UpdateAccount(acct.ID, func(a *store.Account) error {
		if a.CustomerID == "" {
			a.CustomerID = c.ID
		}
		return nil
	})
	return acct, storeErr(err)
}

// priceID finds the Stripe price of plan by its lookup key (cached).
func (s *Service) priceID(ctx context.Context, plan Plan) (string, error) {
	s.mu.Lock()
	id := s.prices[plan.LookupKey]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	pr, err := findPrice(ctx, s.api, plan.LookupKey)
	if err != nil {
		return "", err
	}
	if pr == nil {
		return "", fmt.Errorf("no active Stripe price with lookup key %q: run `portal stripe-setup`", plan.LookupKey)
	}
	s.mu.Lock()
	s.prices[plan.LookupKey] = pr.ID
	s.mu.Unlock()
	return pr.ID, nil
}

func findPrice(ctx context.Context, api *client.API, lookupKey string) (*stripe.Price, error) {
	p := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(lookupKey)}, Active: stripe.Bool(true)}
	p.Context = ctx
	p.Single = true
	it := api.Prices.List(p)
	// Stripe filters by lookup key; an active key names one price.
	for it.Next() {
		if pr := it.Price(); pr != nil && pr.ID != "" {
			return pr, nil
		}
	}
	return nil, it.Err()
}

// setPending records p: the paid plan an account chose and cannot have
// until a card is added (CardLink sells it). A store failure is
// logged: the card link then falls back to the account's plan.
func (s *Service) setPending(p store.PendingCheckout) {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	err := s.db.Update(context.Background(), func(tx store.Tx) error { return tx.PutPendingCheckout(p) })
	if err != nil {
		s.log.Error("billing: chosen plan not recorded", "account", p.AccountID, "plan", p.Plan, "err", err)
	}
}

// settlePending forgets the account's pending paid plan, in the change's
// transaction, once the account has a live subscription: the choice was
// bought (or overtaken by another).
func settlePending(tx store.Tx, a store.Account) error {
	if a.SubscriptionID == "" || !live(stripe.SubscriptionStatus(a.SubscriptionStatus)) {
		return nil
	}
	return tx.DeletePendingCheckout(a.ID)
}

// forgetPending drops the account's pending paid plan: another choice was made.
func (s *Service) forgetPending(accountID string) {
	err := s.db.Update(context.Background(), func(tx store.Tx) error { return tx.DeletePendingCheckout(accountID) })
	if err != nil {
		s.log.Error("billing: pending plan not cleared", "account", accountID, "err", err)
	}
}

func (s *Service) currency(a store.Account) string {
	if a.Currency != "" {
		return a.Currency
	}
	if p, ok := s.cat.Plan(a.Plan); ok {
		return p.Currency
	}
	return "usd"
}

// fetchSubscription gets the subscription with everything SnapshotOf reads.
func (s *Service) fetchSubscription(ctx context.Context, id string) (*stripe.Subscription, error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	expandSubscription(&p.Params)
	return s.api.Subscriptions.Get(id, p)
}

// expandSubscription asks for the card and the latest invoice in the response.
func expandSubscription(p *stripe.Params) {
	p.AddExpand("default_payment_method")
	p.AddExpand("customer.invoice_settings.default_payment_method")
	p.AddExpand("latest_invoice")
}

// snapshot is SnapshotOf with the plan resolved through the catalog.
func (s *Service) snapshot(sub *stripe.Subscription) *Snapshot {
	snap := SnapshotOf(sub)
	p, ok := s.cat.PlanByLookupKey(snap.LookupKey)
	snap.CatalogPrice = ok
	if ok {
		snap.PlanID = p.ID
	} else if _, ok := s.cat.Plan(snap.PlanID); !ok {
		snap.PlanID = ""
	}
	return &snap
}

// isMissing reports whether err is Stripe's 404 for an object.
func isMissing(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing)
}

// transitionNotices returns the notices implied by an account moving from
// before to after. Keys make AddNotice record each once.
//
// Keys depend only on the before and after states, never on versions or
// event order, so out-of-order redeliveries cannot add a notice twice.
func (s *Service) transitionNotices(before, after store.Account, now time.Time) []store.Notice {
	var out []store.Notice
	add := func(kind, key, msg string) {
		out = append(out, store.Notice{AccountID: after.ID, Kind: kind, Key: key, Message: msg, CreatedAt: now})
	}
	if after.State == store.StateLockedTrialEnded && before.State != after.State {
		add("trial_ended", after.SubscriptionID+":"+strconv.FormatInt(after.TrialEnd.Unix(), 10),
			fmt.Sprintf("Your %s trial has ended without a card. Add a card to unlock it, or choose the free plan.", s.planName(after.Plan)))
	}
	if after.HasCard && (!before.HasCard || before.CardLast4 != after.CardLast4 || before.CardBrand != after.CardBrand) {
		add("card_added", after.CardBrand+":"+after.CardLast4, "Card added: "+CardName(after.CardBrand, after.CardLast4)+".")
	}
	if before.Plan != "" && after.Plan != "" && before.Plan != after.Plan {
		add("plan_changed", fmt.Sprintf("%s:%d:%s>%s", after.SubscriptionID, after.CurrentPeriodEnd.Unix(), before.Plan, after.Plan),
			fmt.Sprintf("Your plan changed from %s to %s.", s.planName(before.Plan), s.planName(after.Plan)))
	}
	return out
}

func (s *Service) planName(id string) string {
	if p, ok := s.cat.Plan(id); ok {
		return p.Name
	}
	return id
}

// CardName is how a card is named to the customer, on screen and in mail:
// "Visa •••• 4242", with Stripe's lowercase brand ("visa", "amex") spelled
// as the card says it.
func CardName(brand, last4 string) string {
	switch strings.ToLower(brand) {
	case "":
		brand = "Card"
	case "visa":
		brand = "Visa"
	case "mastercard":
		brand = "Mastercard"
	case "amex":
		brand = "American Express"
	case "jcb":
		brand = "JCB"
	case "unionpay":
		brand = "UnionPay"
	default:
		brand = strings.ToUpper(brand[:1]) + brand[1:]
	}
	if last4 == "" {
		return brand
	}
	return brand + " •••• " + last4
}
