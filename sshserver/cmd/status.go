package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui"
	"github.com/portal/portal/tui/common"
)

// Status is what `ssh host status --json` prints: the account's plan,
// state, trial and card, for scripts. Times are RFC 3339 in UTC; absent
// values are null.
type Status struct {
	// Registered is false for a key with no account; then only Admin and
	// Message are set.
	Registered bool `json:"registered"`
	// Admin is set for an admin key: it opens the ops view, not an account.
	Admin   bool   `json:"admin,omitempty"`
	Message string `json:"message,omitempty"`

	Email             string      `json:"email"`
	Plan              string      `json:"plan"`
	PlanName          string      `json:"plan_name"`
	State             string      `json:"state"`
	StateText         string      `json:"state_text"`
	PaymentPending    bool        `json:"payment_pending"`
	Locked            bool        `json:"locked"`
	TrialEnd          *time.Time  `json:"trial_end"`
	TrialSecondsLeft  *int64      `json:"trial_seconds_left"`
	Card              *StatusCard `json:"card"`
	CancelAtPeriodEnd bool        `json:"cancel_at_period_end"`
	CurrentPeriodEnd  *time.Time  `json:"current_period_end"`
	// ScheduledPlan is the plan the account moves to at ScheduledAt (a
	// downgrade at the period end); "" and null when none is scheduled.
	ScheduledPlan      string       `json:"scheduled_plan"`
	ScheduledAt        *time.Time   `json:"scheduled_at"`
	NextInvoice        *StatusMoney `json:"next_invoice"`
	AmountDue          *StatusDue   `json:"amount_due"`
	SubscriptionStatus string       `json:"subscription_status"`
}

// StatusCard is the card on file.
type StatusCard struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// StatusDue is what a past_due or unpaid account still owes on its open
// invoice: amount in minor units.
type StatusDue struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// StatusMoney is an upcoming invoice: amount in minor units.
type StatusMoney struct {
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	At       time.Time `json:"at"`
}

// statusOf describes a at time now (the billing clock).
func statusOf(a store.Account, b tui.Billing, now time.Time) Status {
	st := Status{
		Registered: true,
		Email:      a.Email, Plan: a.Plan, PlanName: b.Catalog().Name(a.Plan), State: string(a.State),
		StateText: tui.StateText(a), PaymentPending: a.PaymentPending, Locked: a.State.Locked(),
		CancelAtPeriodEnd: a.CancelAtPeriodEnd, SubscriptionStatus: a.SubscriptionStatus,
	}
	if a.State == "" {
		st.State = "none"
	}
	if !a.TrialEnd.IsZero() && a.State == store.StateTrial {
		end := a.TrialEnd.UTC()
		left := int64(max(end.Sub(now), 0) / time.Second)
		st.TrialEnd, st.TrialSecondsLeft = &end, &left
	}
	if a.HasCard {
		st.Card = &StatusCard{Brand: a.CardBrand, Last4: a.CardLast4}
	}
	if a.ScheduledPlan != "" && !a.ScheduledAt.IsZero() {
		at := a.ScheduledAt.UTC()
		st.ScheduledPlan, st.ScheduledAt = a.ScheduledPlan, &at
	}
	if !a.CurrentPeriodEnd.IsZero() && a.SubscriptionID != "" {
		end := a.CurrentPeriodEnd.UTC()
		st.CurrentPeriodEnd = &end
	}
	// A trial without a card pauses at its end instead of invoicing
	// (missing_payment_method=pause): no next invoice, as the dashboard says.
	if a.ShowsNextInvoice() {
		st.NextInvoice = &StatusMoney{Amount: a.NextInvoiceAmount, Currency: a.Currency, At: a.NextInvoiceAt.UTC()}
	}
	if a.AmountDue > 0 {
		st.AmountDue = &StatusDue{Amount: a.AmountDue, Currency: a.Currency}
	}
	return st
}

// text is the status for people, one fact a line.
func (st Status) text(b tui.Billing) string {
	var sb strings.Builder
	line := func(k, v string) { fmt.Fprintf(&sb, "%-13s %s\n", k+":", v) }
	line("Email", st.Email)
	plan := b.Catalog().Line(st.Plan)
	if st.Plan == "" {
		plan = "none yet"
	}
	line("Plan", plan)
	line("State", st.StateText)
	if st.TrialEnd != nil {
		line("Trial ends", st.TrialEnd.Format(time.RFC3339)+" ("+tui.FormatLeft(time.Duration(*st.TrialSecondsLeft)*time.Second)+" left)")
	}
	card := "no card"
	if st.Card != nil {
		card = tui.CardText(store.Account{HasCard: true, CardBrand: st.Card.Brand, CardLast4: st.Card.Last4})
	}
	line("Card", card)
	if st.ScheduledAt != nil {
		line("Then", b.Catalog().Line(st.ScheduledPlan)+" from "+st.ScheduledAt.Format(time.RFC3339))
	}
	if st.CancelAtPeriodEnd && st.CurrentPeriodEnd != nil {
		line("Ends", st.CurrentPeriodEnd.Format(time.RFC3339))
	}
	if st.NextInvoice != nil {
		line("Next invoice", billing.FormatAmount(st.NextInvoice.Amount, st.NextInvoice.Currency)+" on "+
			st.NextInvoice.At.Format(time.RFC3339))
	}
	if st.AmountDue != nil {
		line("Amount due", billing.FormatAmount(st.AmountDue.Amount, st.AmountDue.Currency))
	}
	return sb.String()
}

// runStatus answers `status [--json]` for the session's key. It returns
// the exit status: 0, 1 for an unregistered key or a store failure, 2 for
// bad arguments.
func (t *Table) runStatus(s ssh.Session, args []string, opsView bool) int {
	out, errOut := t.plainWriters(s)
	asJSON := false
	for _, a := range args {
		switch a {
		case "--json", "-json":
			asJSON = true
		default:
			fmt.Fprintf(errOut, "status: unknown argument %q; usage: status [--json]\n", a)
			return 2
		}
	}
	id, ok := common.IdentityFrom(s.Context())
	if !ok {
		fmt.Fprintln(errOut, "status: this portal accepts public-key authentication only")
		return 1
	}
	admin := opsView
	a, err := t.cfg.Store.AccountByKey(id.Fingerprint)
	switch {
	case admin:
		// An admin key opens the ops view whether or not it also has an
		// account: say what it is.
		return t.printNoAccount(out, errOut, asJSON, Status{Admin: true,
			Message: "This is an admin key: connect with `ssh -t` and no command for the ops view."}, 0)
	case errors.Is(err, store.ErrNotFound):
		return t.printNoAccount(out, errOut, asJSON, Status{
			Message: "This key is not registered: connect with `ssh -t` and no command to register it."}, 1)
	case err != nil:
		t.cfg.Logger.Error("status: load account", "key", id.Fingerprint, "err", err)
		fmt.Fprintln(errOut, "We could not read your account right now; please try again.")
		return 1
	}
	st := statusOf(a, t.cfg.Billing, t.cfg.Billing.Now())
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return 0
	}
	_, _ = io.WriteString(out, st.text(t.cfg.Billing))
	return 0
}

// printNoAccount answers status for a key without an account: JSON on
// stdout with --json (scripts parse stdout), else the message (on stderr
// when it is an error, exit != 0).
func (t *Table) printNoAccount(out, errOut io.Writer, asJSON bool, st Status, exit int) int {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Registered bool   `json:"registered"`
			Admin      bool   `json:"admin"`
			Message    string `json:"message"`
		}{st.Registered, st.Admin, st.Message})
		return exit
	}
	if exit == 0 {
		errOut = out
	}
	fmt.Fprintln(errOut, st.Message)
	return exit
}

// crlfWriter turns LF into CR LF for a session with a terminal.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\n", "\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
