package tui_test

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// A downgrade scheduled for the period end that is then edited, and
// released, in Stripe's Dashboard: the open session follows each change by
// itself ("XL until 9 Jan, then S"; then XL alone), as
// subscription_schedule.updated and .released arrive.
func TestJourneyScheduleChangedAtStripe(t *testing.T) {
	t.Parallel()
	p, key, s := newActiveJourney(t, "dashboardsched@example.com", "4")

	changePlan(t, s, "3", "› 4  XL")
	s.WaitFor(t, "You can undo this until then.")
	s.Type("enter")
	s.WaitFor(t, ", then M · $29.00/month")
	a := account(t, p, key)
	until := a.ScheduledAt.UTC().Format("2 Jan")
	s.WaitFor(t, "Plan          XL until "+until+", then M · $29.00/month")

	// The Dashboard: S instead of M at the same date (no key pressed from here).
	sub := subscription(t, p, a.SubscriptionID)
	var sched stripe.SubscriptionSchedule
	stripeGet(t, p, "subscription_schedules/"+a.ScheduleID, &sched)
	stripePost(t, p, "subscription_schedules/"+a.ScheduleID, url.Values{
		"phases[0][items][0][price]": {sub.Items.Data[0].Price.ID}, "phases[0][items][0][quantity]": {"1"},
		"phases[0][start_date]":      {strconv.FormatInt(sched.CurrentPhase.StartDate, 10)},
		"phases[0][end_date]":        {strconv.FormatInt(sub.CurrentPeriodEnd, 10)},
		"phases[1][items][0][price]": {priceOf(t, p, "portal_s_monthly")}, "phases[1][items][0][quantity]": {"1"},
		"phases[1][iterations]": {"1"},
	}, &sched)
	s.WaitFor(t, "Plan          XL until "+until+", then S · $9.00/month")
	s.WaitFor(t, "Next invoice  $9.00 on "+shownDay(sub.CurrentPeriodEnd))
	s.WaitFor(t, "u  Undo the change to S and keep XL")

	// The Dashboard releases it.
	stripePost(t, p, "subscription_schedules/"+a.ScheduleID+"/release", url.Values{}, &sched)
	s.WaitFor(t, "Plan          XL · $79.00/month")
	s.WaitGone(t, "Undo the change")
	if a := account(t, p, key); a.ScheduleID != "" || a.ScheduledPlan != "" {
		t.Errorf("after the release: schedule %q, scheduled %q", a.ScheduleID, a.ScheduledPlan)
	}
}
