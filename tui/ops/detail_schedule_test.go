package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/portal/portal/store"
)

// The account detail shows a change scheduled for the period end as the
// customer's dashboard does ("M until 9 Jan, then S"), with its schedule,
// and nothing once there is none.
func TestDetailShowsScheduledChange(t *testing.T) {
	f, ids := goldenFixture(t, false)
	at := time.Date(2027, 1, 9, 12, 0, 0, 0, time.UTC)
	f.edit(t, ids["bob"], func(a *store.Account) {
		a.Plan, a.ScheduleID, a.ScheduledPlan, a.ScheduledAt = "m", "sub_sched_Bob0001", "s", at
	})
	f.load(t)
	d := f.drive(t, 140, 48)
	d.keys("/", "bob", "enter", "enter")
	v := d.view()
	if !strings.Contains(v, "Scheduled") || !strings.Contains(v, "M until 9 Jan, then S (schedule sub_sched_Bob0001") {
		t.Fatalf("no scheduled change in the detail:\n%s", v)
	}
	d = f.drive(t, 140, 48)
	d.keys("/", "alice", "enter", "enter")
	if v := d.view(); strings.Contains(v, "Scheduled") {
		t.Fatalf("a scheduled change shown for an account without one:\n%s", v)
	}
}
