package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/portal/portal/internal/requestid"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

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
// With a live subscription the plan is changed (changePlan); this one
// method serves the plan picker, the change-plan screen, the plan command
// and ops alike.
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
	if acct.HasLiveSubscription() {
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

// changePlan moves a subscribed account to plan (ChoosePlan with a live
// subscription). Upgrades of a paid period
// are invoiced now (proration always_invoice) and only take effect once paid
// (payment_behavior pending_if_incomplete); downgrades and changes during the
// trial are not prorated, and a downgrade of an active subscription waits
// for the period end unless Config.DowngradeAt is "now" (scheduleDowngrade).
// Choosing the current plan again undoes a scheduled change; any other
// change replaces it. To free: cancel at the period end when paid and
// active, cancel now when trialing or locked.
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
	if acct.NeedsCardFirst() {
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
	if !acct.HasLiveSubscription() {
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
	if !acct.HasLiveSubscription() {
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
	if !acct.HasLiveSubscription() {
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
