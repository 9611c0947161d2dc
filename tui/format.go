package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
)

// The exported words here are said by the script commands too
// (sshserver/cmd), so that a command and a screen name a state, a card, a
// plan or the time left alike.

// formatDate is a day and time for people, always in UTC (the server does
// not know the client's zone): "Tue 9 Dec 14:00 UTC".
func formatDate(t time.Time) string { return t.UTC().Format("Mon 2 Jan 15:04 UTC") }

// formatDay is a date without the time: "Tue 9 Dec".
func formatDay(t time.Time) string { return t.UTC().Format("Mon 2 Jan") }

// plural writes "1 day" or "3 days".
func plural(n int, unit string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", unit)
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// durationWords says a setting's length in words: "30 minutes", "1 hour
// 30 minutes", "45 seconds" (Duration.String's "30m0s" is for programmers).
func durationWords(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var parts []string
	if h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	if m > 0 {
		parts = append(parts, plural(m, "minute"))
	}
	if sec > 0 || len(parts) == 0 {
		parts = append(parts, plural(sec, "second"))
	}
	return strings.Join(parts, " ")
}

// FormatLeft says how long is left in the two largest units that matter:
// "12 days 4 hours", "4 hours 12 minutes", "12 minutes 5 seconds". Seconds
// appear only in the last hour, the only time the countdown ticks each
// second. d is first rounded up to the minute (to the second in the last
// hour), so a trial that just started shows "30 days", not "29 days 23
// hours". Zero or less is "no time".
func FormatLeft(d time.Duration) string {
	if d <= 0 {
		return "no time"
	}
	unit := time.Minute
	if d <= time.Hour {
		unit = time.Second
	}
	if r := d % unit; r != 0 {
		d += unit - r
	}
	switch {
	case d >= 24*time.Hour:
		days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if hours == 0 {
			return plural(days, "day")
		}
		return plural(days, "day") + " " + plural(hours, "hour")
	case d >= time.Hour:
		hours, mins := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if mins == 0 {
			return plural(hours, "hour")
		}
		return plural(hours, "hour") + " " + plural(mins, "minute")
	default:
		mins, secs := int(d/time.Minute), int(d%time.Minute/time.Second)
		switch {
		case mins == 0:
			return plural(secs, "second")
		case secs == 0:
			return plural(mins, "minute")
		}
		return plural(mins, "minute") + " " + plural(secs, "second")
	}
}

// CardText names a card: "Visa •••• 4242", or "no card".
func CardText(a store.Account) string {
	if !a.HasCard {
		return "no card"
	}
	return billing.CardName(a.CardBrand, a.CardLast4)
}

// StateText says in words what the account's state means.
func StateText(a store.Account) string {
	var s string
	switch a.State {
	case store.StateNone:
		s = "no plan chosen yet"
	case store.StateFree:
		s = "free"
	case store.StateTrial:
		if a.HasCard {
			s = "trial, card on file"
		} else {
			s = "trial, no card yet"
		}
	case store.StateActive:
		s = "active"
	case store.StateCanceling:
		if trialing(a) {
			s = "trial until it ends, then Free"
		} else {
			s = "active until the end of the period, then Free"
		}
	case store.StatePastDue:
		switch {
		case a.HasCard && a.RetriesOver:
			s = "payment failed, no more retries" // Stripe left it past due
		case a.HasCard:
			s = "payment failed, retrying"
		default:
			s = "payment due, no card to charge" // Stripe retries nothing without a card
		}
	case store.StateLockedTrialEnded:
		s = "locked: the trial ended without a card"
	case store.StateLockedUnpaid:
		s = "locked: unpaid invoice"
	case store.StateLockedCanceled:
		s = "locked: subscription ended"
	default:
		s = string(a.State)
	}
	if a.PaymentPending {
		s += " (payment pending)"
	}
	return s
}

// trialing reports whether the account's plan runs on a trial now: in
// trial, or canceling a trial (Stripe still has it trialing and ends it at
// the trial end, so the countdown goes on).
func trialing(a store.Account) bool {
	return a.State == store.StateTrial || a.State == store.StateCanceling && a.SubscriptionStatus == "trialing"
}

// TrialAvailable reports whether choosing a paid plan starts a trial: the
// trial is unused, or claimed by a request Stripe has not answered yet (the
// trial may still be granted; choosing again says so).
func TrialAvailable(a store.Account) bool {
	return !a.TrialUsed || billing.TrialClaimPending(a)
}
