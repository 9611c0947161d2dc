package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portal/portal/internal/requestid"
	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

// trialClaimGrace is how long a trial claim whose subscription request got
// no answer is left alone before Stripe is asked what became of it. It must
// outlast any request of ours that can still be in flight at Stripe: a
// request Stripe received finishes within seconds, and a call of ours gives
// up after its timeouts and retries (about 1.5 minutes with the portal's
// client, 4 with stripe-go's defaults). Requests
// this process is still making are also guarded directly (Service.claiming),
// so a clock that jumps (the sandbox's) cannot cut one short; the grace is
// for what a stopped process left behind.
const trialClaimGrace = 10 * time.Minute

// TrialClaimPending reports whether a's trial is claimed but not settled:
// ChoosePlan claimed it and asked Stripe for the trial subscription, and
// neither that subscription nor a release has been recorded since (no trial
// end, no live subscription, TrialClaimedAt set). That is the case while
// the request runs and after one Stripe did not answer.
func TrialClaimPending(a store.Account) bool {
	return a.TrialUsed && a.TrialEnd.IsZero() && !a.TrialClaimedAt.IsZero() &&
		!live(stripe.SubscriptionStatus(a.SubscriptionStatus))
}

// claimStale reports whether a's pending trial claim is old enough to ask
// Stripe about: older than trialClaimGrace by the billing clock, and no
// trial request of this process for the account still running.
func (s *Service) claimStale(a store.Account) bool {
	if !TrialClaimPending(a) || s.now().Sub(a.TrialClaimedAt) < trialClaimGrace {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claiming[a.ID] == 0
}

// guardClaim counts a trial attempt for accountID in s.claiming until done
// is called.
func (s *Service) guardClaim(accountID string) (done func()) {
	s.mu.Lock()
	s.claiming[accountID]++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.claiming[accountID]--; s.claiming[accountID] <= 0 {
			delete(s.claiming, accountID)
		}
	}
}

// startTrial is ChoosePlan of paid plan on an account without a live
// subscription: claim the trial and create its subscription. A claim
// pending for longer than trialClaimGrace is first settled by resync (one
// listing of the customer's subscriptions): a subscription of the account
// is adopted (and changed to plan if need be), and with none the claim is
// released and the trial tried again under a new idempotency key. A
// younger pending claim gives ErrTrialPending, a settled one
// ErrCardRequired.
func (s *Service) startTrial(ctx context.Context, op, accountID string, plan Plan) (store.Account, error) {
	acct, sub, claimed, err := s.tryTrial(ctx, accountID, plan)
	if err == nil && !claimed && s.claimStale(acct) {
		if _, acct, err = s.resync(ctx, accountID, nil); err != nil {
			return store.Account{}, wrap(op, err)
		}
		if acct.HasLiveSubscription() {
			return s.changePlan(ctx, op, acct, plan)
		}
		acct, sub, claimed, err = s.tryTrial(ctx, accountID, plan)
	}
	switch {
	case err != nil:
		return store.Account{}, wrap(op, err)
	case !claimed && TrialClaimPending(acct):
		return acct, wrap(op, ErrTrialPending)
	case !claimed:
		s.setPending(store.PendingCheckout{AccountID: accountID, Plan: plan.ID})
		return acct, wrap(op, ErrCardRequired)
	}
	s.forgetPending(accountID)
	return s.commit(op, accountID, nil, s.snapshot(sub))
}

// tryTrial claims the account's trial and, if it got the claim, creates the
// trial subscription of plan. With claimed false, acct is the account as it
// was: its trial already claimed. A claim counts in s.claiming until its
// request is over.
func (s *Service) tryTrial(ctx context.Context, accountID string, plan Plan) (acct store.Account, sub *stripe.Subscription, claimed bool, err error) {
	acct, claimed, err = s.claimTrial(accountID)
	if err != nil || !claimed {
		return acct, nil, false, storeErr(err)
	}
	// Counted from just after the claim: only a clock jumping a whole
	// trialClaimGrace within that instant could make it look stale first.
	defer s.guardClaim(accountID)()
	sub, err = s.createTrial(ctx, acct, plan)
	return acct, sub, true, err
}

// claimTrial marks the account's trial used, at TrialClaimedAt now, unless
// it already was; claimed tells which. acct is the account after the claim
// (or as it was).
func (s *Service) claimTrial(accountID string) (acct store.Account, claimed bool, err error) {
	now := s.now()
	var seen store.Account // UpdateAccount returns no account with fn's error
	acct, err = s.db.UpdateAccount(accountID, func(a *store.Account) error {
		if a.TrialUsed {
			seen = *a
			return errTrialUsed
		}
		a.TrialUsed, a.TrialClaimedAt = true, now
		return nil
	})
	if errors.Is(err, errTrialUsed) {
		return seen, false, nil
	}
	return acct, err == nil, err
}

// errTrialUsed aborts claimTrial's update.
var errTrialUsed = errors.New("trial already used")

// createTrial creates the trial subscription of plan for acct, whose trial
// claimTrial has claimed. When no subscription can have been created the
// claim is released, so the customer can try again; when the outcome is
// unknown (no answer from Stripe: a network error, a timeout, a 5xx or a
// 409) the claim is kept and ErrTrialPending returned: releasing it now
// could grant a second trial if the subscription exists after all. The
// webhook, a later ChoosePlan or the reconciler settles it (see resync).
func (s *Service) createTrial(ctx context.Context, acct store.Account, plan Plan) (*stripe.Subscription, error) {
	sub, err := s.newTrialSubscription(ctx, acct, plan)
	if err == nil {
		return sub, nil
	}
	var sent trialSent
	if errors.As(err, &sent) {
		requestid.Logger(ctx, s.log).Warn("billing: trial subscription outcome unknown; claim kept until Stripe is asked again",
			"account", acct.ID, "plan", plan.ID, "attempt", acct.TrialAttempt, "err", sent.err)
		return nil, fmt.Errorf("%w: %w", ErrTrialPending, sent.err)
	}
	_, rerr := s.db.UpdateAccount(acct.ID, func(a *store.Account) error {
		if settleClaim(a, acct, accountSubscriptions{}) != claimReleased {
			return errClaimMoved
		}
		return nil
	})
	switch {
	case rerr == nil:
		requestid.Logger(ctx, s.log).Info("billing: trial claim released: Stripe refused the subscription", "account", acct.ID, "attempt", acct.TrialAttempt)
	case !errors.Is(rerr, errClaimMoved):
		requestid.Logger(ctx, s.log).Error("billing: trial claim not released", "account", acct.ID, "err", rerr)
	}
	return nil, err
}

// errClaimMoved aborts a release whose claim was settled meanwhile.
var errClaimMoved = errors.New("trial claim settled meanwhile")

// trialSent wraps the error of a trial subscription request whose outcome
// at Stripe is unknown.
type trialSent struct{ err error }

func (e trialSent) Error() string { return e.err.Error() }

func (s *Service) newTrialSubscription(ctx context.Context, acct store.Account, plan Plan) (*stripe.Subscription, error) {
	acct, err := s.ensureCustomer(ctx, acct)
	if err != nil {
		return nil, err
	}
	price, err := s.priceID(ctx, plan)
	if err != nil {
		return nil, err
	}
	p := &stripe.SubscriptionParams{
		Customer:        stripe.String(acct.CustomerID),
		Items:           []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}},
		TrialPeriodDays: stripe.Int64(s.trialDays),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{
			EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{MissingPaymentMethod: stripe.String(s.trialEnd)},
		},
		Metadata: map[string]string{"account_id": acct.ID, "plan": plan.ID},
	}
	p.Context = ctx
	p.SetIdempotencyKey(trialIdempotencyKey(acct))
	expandSubscription(&p.Params)
	sub, err := s.api.Subscriptions.New(p)
	if err != nil && unanswered(err) {
		return nil, trialSent{err}
	}
	return sub, err
}

// trialIdempotencyKey is the idempotency key of attempt a.TrialAttempt at
// the account's trial subscription. Each attempt needs its own: Stripe
// replays a key's first result (a 5xx included) for 24 hours, and refuses
// the key with other parameters (another plan). Attempt 0 keeps the key
// used before attempts were counted.
func trialIdempotencyKey(a store.Account) string {
	if a.TrialAttempt == 0 {
		return "portal-trial-" + a.ID
	}
	return fmt.Sprintf("portal-trial-%s-%d", a.ID, a.TrialAttempt)
}

// claimOutcome is what settleClaim did to a trial claim.
type claimOutcome int

const (
	claimKept      claimOutcome = iota // not pending any more, or another claim: untouched
	claimConfirmed                     // Stripe has the account's subscription: claim stands
	claimReleased                      // Stripe has none: trial free again
)

// settleClaim settles the trial claim seen in claim (a pending claim, see
// TrialClaimPending) on a, the account inside a store update, by what
// Stripe has (found): if a subscription of the account had a trial or is
// live, the claim stands and TrialClaimedAt is cleared; with none, the claim
// is released (TrialUsed false, TrialClaimedAt zero, TrialAttempt+1). It
// does nothing unless a still holds that very claim (pending, same attempt
// and claim time): a webhook or another session may have moved on. The
// caller guarantees no request of ours for that claim can still create a
// subscription (claimStale, or a definite refusal).
func settleClaim(a *store.Account, claim store.Account, found accountSubscriptions) claimOutcome {
	if !TrialClaimPending(*a) || a.TrialAttempt != claim.TrialAttempt || !a.TrialClaimedAt.Equal(claim.TrialClaimedAt) {
		return claimKept
	}
	a.TrialClaimedAt = time.Time{}
	if found.live != nil || found.trial != nil {
		return claimConfirmed
	}
	a.TrialUsed = false
	a.TrialAttempt++
	return claimReleased
}

// logSettled logs what resync's settleClaim did to acct's trial claim.
func (s *Service) logSettled(acct store.Account, found accountSubscriptions, o claimOutcome) {
	switch o {
	case claimReleased:
		s.log.Warn("billing: trial claim released: Stripe has no subscription for it",
			"account", acct.ID, "attempt", acct.TrialAttempt, "claimed_at", acct.TrialClaimedAt)
	case claimConfirmed:
		sub := found.live
		if sub == nil {
			sub = found.trial
		}
		s.log.Info("billing: trial claim confirmed: Stripe has the account's subscription",
			"account", acct.ID, "subscription", sub.ID, "status", sub.Status)
	}
}
