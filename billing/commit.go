package billing

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/portal/portal/store"
)

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
		noteConversion(a)
		*notes = s.transitionNotices(before, *a, now)
		return nil
	}
}

// paidAt records an invoice paid at (Stripe's time) as the account's
// latest payment; updateFn then notes a conversion (noteConversion).
func paidAt(at time.Time) func(*store.Account) {
	return func(a *store.Account) {
		if at.After(a.LastPaidAt) {
			a.LastPaidAt = at
		}
	}
}

// noteConversion sets ConvertedAt, once, when the account has paid at or
// after the end of its trial: the trial's own $0 invoice is paid as it
// starts, real money at its end or later.
func noteConversion(a *store.Account) {
	if a.ConvertedAt.IsZero() && a.TrialUsed && !a.TrialEnd.IsZero() && !a.LastPaidAt.IsZero() && !a.LastPaidAt.Before(a.TrialEnd) {
		a.ConvertedAt = a.LastPaidAt
	}
}

// addNotices records notes in the change's transaction (each once: see
// store.Tx.EnsureNotice).
func addNotices(tx store.Tx, notes []store.Notice) error {
	for _, n := range notes {
		if err := tx.EnsureNotice(n); err != nil {
			return fmt.Errorf("notice %s: %w", n.Kind, err)
		}
	}
	return nil
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
	if !a.HasLiveSubscription() {
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

// transitionNotices returns the notices implied by an account moving from
// before to after. Keys make AddNotice record each once.
//
// Keys depend only on the before and after states, never on versions or
// event order, so out-of-order redeliveries cannot add a notice twice.
func (s *Service) transitionNotices(before, after store.Account, now time.Time) []store.Notice {
	var out []store.Notice
	add := func(kind store.NoticeKind, key, msg string) {
		out = append(out, store.Notice{AccountID: after.ID, Kind: kind, Key: key, Message: msg, CreatedAt: now})
	}
	if after.State == store.StateLockedTrialEnded && before.State != after.State {
		add(NoticeTrialEnded, after.SubscriptionID+":"+strconv.FormatInt(after.TrialEnd.Unix(), 10),
			fmt.Sprintf("Your %s trial has ended without a card. Add a card to unlock it, or choose the free plan.", s.cat.Name(after.Plan)))
	}
	if after.HasCard && (!before.HasCard || before.CardLast4 != after.CardLast4 || before.CardBrand != after.CardBrand) {
		add(NoticeCardAdded, after.CardBrand+":"+after.CardLast4, "Card added: "+CardName(after.CardBrand, after.CardLast4)+".")
	}
	if before.Plan != "" && after.Plan != "" && before.Plan != after.Plan {
		add(NoticePlanChanged, fmt.Sprintf("%s:%d:%s>%s", after.SubscriptionID, after.CurrentPeriodEnd.Unix(), before.Plan, after.Plan),
			fmt.Sprintf("Your plan changed from %s to %s.", s.cat.Name(before.Plan), s.cat.Name(after.Plan)))
	}
	return out
}
