package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// actionKind is one thing an admin can do.
type actionKind int

const (
	actExtendTrial actionKind = iota + 1
	actResync
	actChangePlan
	actMoveToFree
	actCancel
	actResendNotice
	actRetryEvent
	actAdvanceClock
	actCancelSecond
	actRemoveKey
)

// auditName is the Action written to the audit log.
var auditName = map[actionKind]string{
	actExtendTrial:  "extend_trial",
	actResync:       "resync",
	actChangePlan:   "change_plan",
	actMoveToFree:   "move_to_free",
	actCancel:       "cancel_at_period_end",
	actResendNotice: "resend_notice",
	actRetryEvent:   "retry_event",
	actAdvanceClock: "advance_clock",
	actCancelSecond: "cancel_second_subscription",
	actRemoveKey:    "remove_key",
}

// action is one admin action with its arguments, built by a screen and run
// only after the admin confirms it.
type action struct {
	kind      actionKind
	accountID string
	email     string        // for the prompt and status line
	days      int           // actExtendTrial
	plan      string        // actChangePlan
	notice    store.Notice  // actResendNotice
	eventID   string        // actRetryEvent
	advance   time.Duration // actAdvanceClock
	// second and credit are, for actCancelSecond, the subscription to
	// cancel and whether its unused time is credited.
	second string
	credit bool
	key    string // actRemoveKey: the fingerprint
	// freeAt is, for actMoveToFree, the end of the paid period of an active
	// subscription: billing moves such an account to Free then, not now.
	// live says there is a subscription billing cancels now instead.
	freeAt time.Time
	live   bool
}

// prompt is the confirmation question.
func (a action) prompt() string {
	who := a.email
	if who == "" {
		who = a.accountID
	}
	switch a.kind {
	case actExtendTrial:
		return fmt.Sprintf("Extend the trial of %s by %d days (resuming it first if paused)?", who, a.days)
	case actResync:
		return fmt.Sprintf("Re-fetch %s from Stripe and re-derive its state?", who)
	case actChangePlan:
		return fmt.Sprintf("Change the plan of %s to %q (prorated by Stripe)?", who, a.plan)
	case actMoveToFree:
		switch {
		case !a.freeAt.IsZero():
			return fmt.Sprintf("Move %s to the free plan when its paid period ends, %s UTC (its Stripe subscription cancels then)?",
				who, fmtTime(a.freeAt))
		case a.live:
			return fmt.Sprintf("Move %s to the free plan now (cancels its Stripe subscription now)?", who)
		}
		return fmt.Sprintf("Move %s to the free plan?", who)
	case actCancel:
		return fmt.Sprintf("Cancel the subscription of %s at the end of its period?", who)
	case actResendNotice:
		return fmt.Sprintf("Send the %s notice to %s again (back in the mail outbox, due at once)?", a.notice.Kind, who)
	case actRetryEvent:
		return fmt.Sprintf("Retry event %s: re-sync %s from Stripe?", a.eventID, who)
	case actAdvanceClock:
		return fmt.Sprintf("Advance the sandbox clock by %s? It never goes back.", spanWords(a.advance))
	case actCancelSecond:
		if a.credit {
			return fmt.Sprintf("Cancel the second subscription %s of %s now, crediting its unused time to the customer's Stripe balance?", a.second, who)
		}
		return fmt.Sprintf("Cancel the second subscription %s of %s now, with nothing credited?", a.second, who)
	case actRemoveKey:
		return fmt.Sprintf("Remove key %s from %s? Sessions with it end up on the register screen.", a.key, who)
	}
	return "?"
}

// auditAction is the Action column of the audit entry, with the arguments.
func (a action) auditAction() string {
	name := auditName[a.kind]
	switch a.kind {
	case actExtendTrial:
		return fmt.Sprintf("%s days=%d", name, a.days)
	case actChangePlan:
		return fmt.Sprintf("%s plan=%s", name, a.plan)
	case actResendNotice:
		return fmt.Sprintf("%s notice=%s kind=%s", name, a.notice.ID, a.notice.Kind)
	case actRetryEvent:
		return fmt.Sprintf("%s event=%s", name, a.eventID)
	case actAdvanceClock:
		return fmt.Sprintf("%s by=%s", name, a.advance)
	case actCancelSecond:
		return fmt.Sprintf("%s subscription=%s credit=%t", name, a.second, a.credit)
	case actRemoveKey:
		return fmt.Sprintf("%s key=%s", name, a.key)
	}
	return name
}

// actionDoneMsg reports a finished action: what to tell the admin, and the
// account to re-read.
type actionDoneMsg struct {
	act    action
	status string
	err    error
}

// errNotAdmin: the key was removed from the admin file after the session
// opened.
var errNotAdmin = errors.New("your key is no longer in the admin keys file")

// perform runs a confirmed action for the admin with fingerprint actor and
// audits it, whether it succeeded or not (After then records the error).
//
// It runs on a context detached from the SSH session's: once confirmed, an
// action completes and is audited even if the admin's connection drops
// half-way through a Stripe call. ActionTimeout still bounds it.
func (o *Ops) perform(sessionCtx context.Context, actor string, a action) actionDoneMsg {
	if o.cfg.Admins != nil && !o.cfg.Admins.IsAdmin(actor) {
		o.log.Warn("ops action refused: key no longer admin", "key", actor, "action", a.auditAction())
		return actionDoneMsg{act: a, err: errNotAdmin}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sessionCtx), o.cfg.ActionTimeout)
	defer cancel()

	var before, after, status string
	var err error
	if a.accountID != "" {
		if acct, rerr := o.cfg.Store.Account(a.accountID); rerr == nil {
			before = a.summary(acct)
		} else {
			before = "unreadable: " + rerr.Error()
		}
	}
	b := o.cfg.Billing
	var acct store.Account
	switch a.kind {
	case actExtendTrial:
		acct, err = b.ExtendTrial(ctx, a.accountID, a.days)
		status = fmt.Sprintf("Trial of %s extended: ends %s.", a.email, fmtTime(acct.TrialEnd))
	case actResync, actRetryEvent:
		acct, err = b.Resync(ctx, a.accountID)
		status = fmt.Sprintf("%s re-synced: %s.", a.email, stateLabel(acct.State, acct.HasCard, acct.PaymentPending))
	case actChangePlan:
		acct, err = b.ChoosePlan(ctx, a.accountID, a.plan)
		status = fmt.Sprintf("%s is now on plan %s.", a.email, acct.Plan)
	case actMoveToFree:
		acct, err = b.ChoosePlan(ctx, a.accountID, billing.PlanFree)
		status = fmt.Sprintf("%s moved to the free plan.", a.email)
		if acct.Plan != billing.PlanFree {
			status = fmt.Sprintf("%s moves to the free plan at %s.", a.email, fmtTime(acct.CurrentPeriodEnd))
		}
	case actCancel:
		acct, err = b.CancelAtPeriodEnd(ctx, a.accountID)
		status = fmt.Sprintf("%s cancels at %s.", a.email, fmtTime(acct.CurrentPeriodEnd))
	case actCancelSecond:
		acct, err = b.CancelSecondSubscription(ctx, a.accountID, a.credit)
		status = fmt.Sprintf("Second subscription of %s canceled.", a.email)
	case actResendNotice:
		var n store.Notice
		n, err = o.resendNotice(a.notice)
		before = noticeSummary(a.notice)
		after = noticeSummary(n)
		status = fmt.Sprintf("%s notice queued again for %s.", a.notice.Kind, a.email)
	case actAdvanceClock:
		before = fmtStamp(o.cfg.Clock.Now())
		err = o.cfg.Clock.Advance(ctx, a.advance)
		after = fmtStamp(o.cfg.Clock.Now())
		status = "Sandbox clock is now " + after + " UTC."
	case actRemoveKey:
		// The store keeps the rule: never an account's last key.
		acct, err = o.cfg.Store.RemoveKey(a.accountID, a.key)
		if errors.Is(err, store.ErrLastKey) {
			err = errors.New("that is the account's only key; it cannot be removed")
		}
		status = fmt.Sprintf("Key %s removed from %s.", a.key, a.email)
	default:
		err = fmt.Errorf("unknown action %d", a.kind)
	}
	if a.accountID != "" && a.kind != actResendNotice && err == nil {
		after = a.summary(acct)
	}
	if err != nil {
		after = "error: " + err.Error()
		status = ""
		o.log.Warn("ops action failed", "key", actor, "action", a.auditAction(), "account", a.accountID, "err", err)
	} else {
		o.log.Info("ops action", "key", actor, "action", a.auditAction(), "account", a.accountID)
	}
	// At is left to the store: its wall clock says when the action
	// happened. Config.Now is the billing clock, which the sandbox moves.
	if _, aerr := o.cfg.Store.AppendAudit(store.AuditEntry{
		Actor: actor, AccountID: a.accountID, Action: a.auditAction(), Before: before, After: after,
	}); aerr != nil {
		o.log.Error("ops audit", "key", actor, "action", a.auditAction(), "err", aerr)
		if err == nil {
			err = fmt.Errorf("done, but the audit entry could not be written: %w", aerr)
		}
	}
	return actionDoneMsg{act: a, status: status, err: err}
}

// summary is the account as the audit entry records it; a key removal
// adds the key count, which the account summary leaves out and which is
// what it changes.
func (a action) summary(acct store.Account) string {
	if a.kind == actRemoveKey {
		return acct.AuditSummary() + fmt.Sprintf(" keys=%d", len(acct.Keys))
	}
	return acct.AuditSummary()
}

// resendNotice puts n back in the store's outbox; the mailer sends it again.
func (o *Ops) resendNotice(n store.Notice) (store.Notice, error) {
	return o.cfg.Store.Requeue(n.ID)
}

func noticeSummary(n store.Notice) string {
	if n.ID == "" {
		return "-"
	}
	s := fmt.Sprintf("notice=%s kind=%s mail=%s", n.ID, n.Kind, n.MailStatus())
	if !n.MailedAt.IsZero() {
		s += " mailed_at=" + auditTime(n.MailedAt)
	}
	return s
}

func auditTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
