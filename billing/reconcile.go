package billing

import (
	"context"
	"time"

	"github.com/portal/portal/store"
	"github.com/stripe/stripe-go/v76"
)

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
				Actor: "reconciler", AccountID: id, Action: "drift", Before: before.AuditSummary(), After: after.AuditSummary(), At: s.now(),
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
		s.log.Warn("reconciler: drift healed", "account", id, "before", before.AuditSummary(), "after", after.AuditSummary())
	}
	return synced, drift
}
