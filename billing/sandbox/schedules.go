package sandbox

// Subscription schedules: the part the portal uses to downgrade at the
// period end, as Stripe's own customer portal does. A schedule made
// from_subscription starts with one phase (the current period and items);
// an update replaces its phases; at a phase boundary the subscription's
// renewal takes the next phase's items, so the new period is invoiced at
// the new price; when the last phase ends the schedule releases the
// subscription (end_behavior release). Release and cancel end it early.

type subscriptionSchedule struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	CanceledAt           *int64            `json:"canceled_at"`
	CompletedAt          *int64            `json:"completed_at"`
	Created              int64             `json:"created"`
	CurrentPhase         *schedulePeriod   `json:"current_phase"`
	Customer             string            `json:"customer"`
	EndBehavior          string            `json:"end_behavior"`
	Livemode             bool              `json:"livemode"`
	Metadata             map[string]string `json:"metadata"`
	Phases               []schedulePhase   `json:"phases"`
	ReleasedAt           *int64            `json:"released_at"`
	ReleasedSubscription *string           `json:"released_subscription"`
	Status               string            `json:"status"` // not_started, active, completed, released, canceled
	Subscription         *string           `json:"subscription"`
	TestClock            *string           `json:"test_clock"`
}

type schedulePeriod struct {
	EndDate   int64 `json:"end_date"`
	StartDate int64 `json:"start_date"`
}

type schedulePhase struct {
	EndDate           int64               `json:"end_date"`
	Items             []schedulePhaseItem `json:"items"`
	Metadata          map[string]string   `json:"metadata"`
	ProrationBehavior string              `json:"proration_behavior"`
	StartDate         int64               `json:"start_date"`
}

type schedulePhaseItem struct {
	Metadata map[string]string `json:"metadata"`
	Price    string            `json:"price"`
	Quantity int64             `json:"quantity"`
}

func (s *subscriptionSchedule) objectID() string { return s.ID }
func (s *subscriptionSchedule) kind() string     { return "subscription_schedule" }

var scheduleCreateSchema = schema{"from_subscription", "metadata", "metadata[*]", "expand[]"}

var scheduleUpdateSchema = schema{"end_behavior", "proration_behavior", "metadata", "metadata[*]",
	"phases[][items][][price]", "phases[][items][][quantity]", "phases[][start_date]", "phases[][end_date]",
	"phases[][iterations]", "phases[][proration_behavior]", "expand[]"}

func (s *Sandbox) createSchedule(q *request) (any, *apiError) {
	subID, e := q.f.required("from_subscription")
	if e != nil {
		return nil, e
	}
	sub, ok := get[*subscription](s.st, subID)
	if !ok {
		return nil, noSuchParam("subscription", subID, "from_subscription")
	}
	if sub.Schedule != nil {
		return nil, invalidRequest("from_subscription", "You cannot migrate a subscription that is already attached to a schedule: `%s`.", *sub.Schedule)
	}
	switch sub.Status {
	case "canceled", "incomplete_expired":
		return nil, invalidRequest("from_subscription", "You cannot create a subscription schedule from a canceled subscription.")
	}
	md, err := applyMetadata(map[string]string{}, q.f, "metadata")
	if err != nil {
		return nil, err
	}
	t := q.t
	sch := &subscriptionSchedule{ID: newID("sub_sched_", 14), Object: "subscription_schedule", Created: t.now, Customer: sub.Customer,
		EndBehavior: "release", Metadata: md, Status: "active", Subscription: ptr(sub.ID), TestClock: sub.TestClock,
		CurrentPhase: &schedulePeriod{StartDate: sub.CurrentPeriodStart, EndDate: sub.CurrentPeriodEnd},
		Phases:       []schedulePhase{{StartDate: sub.CurrentPeriodStart, EndDate: sub.CurrentPeriodEnd, Items: phaseItems(sub.Items.Data), Metadata: map[string]string{}, ProrationBehavior: "create_prorations"}}}
	before := s.snap(sub)
	sub.Schedule = ptr(sch.ID)
	s.put(t, sch)
	s.put(t, sub)
	s.emit(t, "subscription_schedule.created", sch, nil)
	s.emit(t, "customer.subscription.updated", sub, before)
	return sch, nil
}

func phaseItems(items []subItem) []schedulePhaseItem {
	out := make([]schedulePhaseItem, len(items))
	for i, it := range items {
		out[i] = schedulePhaseItem{Metadata: map[string]string{}, Price: it.Price.ID, Quantity: it.Quantity}
	}
	return out
}

// updateSchedule replaces the phases. As at Stripe, the current phase's
// start cannot move, phases follow each other without gaps, and a phase
// needs an end_date or iterations (a number of the price's periods).
func (s *Sandbox) updateSchedule(q *request) (any, *apiError) {
	sch, err := byID[*subscriptionSchedule](s, q, "subscription_schedule")
	if err != nil {
		return nil, err
	}
	if sch.Status != "active" && sch.Status != "not_started" {
		return nil, invalidRequest("", "You cannot update a subscription schedule that is currently in the `%s` status. It must be in either the `not_started` or `active` status.", sch.Status)
	}
	if eb := q.f.str("end_behavior"); eb != "" {
		if eb != "release" && eb != "cancel" {
			return nil, invalidRequest("end_behavior", "Invalid end_behavior: must be one of release or cancel")
		}
		sch.EndBehavior = eb
	}
	if q.f.has("metadata") || len(q.f.indices("metadata")) > 0 {
		md, err := applyMetadata(sch.Metadata, q.f, "metadata")
		if err != nil {
			return nil, err
		}
		sch.Metadata = md
	}
	if idx := q.f.indices("phases"); len(idx) > 0 {
		var phases []schedulePhase
		start := sch.Phases[0].StartDate
		if sch.CurrentPhase != nil {
			start = sch.CurrentPhase.StartDate
		}
		for n, i := range idx {
			p := "phases[" + i + "]"
			ph := schedulePhase{Metadata: map[string]string{}, ProrationBehavior: "create_prorations"}
			if pb := q.f.str(p + "[proration_behavior]"); pb != "" {
				ph.ProrationBehavior = pb
			}
			sd, ok, err := q.f.int(p + "[start_date]")
			if err != nil {
				return nil, err
			}
			if n == 0 && ok && sd != start {
				return nil, invalidRequest(p+"[start_date]", "You can not modify the start date of the current phase.")
			}
			if n > 0 && ok && sd != start {
				return nil, invalidRequest(p+"[start_date]", "The start_date of a phase must be the end_date of the phase before it.")
			}
			ph.StartDate = start
			var first *price
			for _, j := range q.f.indices(p + "[items]") {
				ip := p + "[items][" + j + "]"
				pid, e := q.f.required(ip + "[price]")
				if e != nil {
					return nil, e
				}
				pr, ok := get[*price](s.st, pid)
				if !ok {
					return nil, noSuchParam("price", pid, ip+"[price]")
				}
				if pr.Recurring == nil || !pr.Active {
					return nil, invalidRequest(ip+"[price]", "The price specified must be an active recurring price.")
				}
				qty, ok, e := q.f.int(ip + "[quantity]")
				if e != nil {
					return nil, e
				}
				if !ok {
					qty = 1
				}
				if first == nil {
					first = pr
				}
				ph.Items = append(ph.Items, schedulePhaseItem{Metadata: map[string]string{}, Price: pr.ID, Quantity: qty})
			}
			if len(ph.Items) == 0 {
				return nil, paramMissing(p + "[items]")
			}
			ed, hasEnd, e := q.f.int(p + "[end_date]")
			if e != nil {
				return nil, e
			}
			it, hasIt, e := q.f.int(p + "[iterations]")
			if e != nil {
				return nil, e
			}
			switch {
			case hasEnd:
				if ed <= start {
					return nil, invalidRequest(p+"[end_date]", "The end_date of a phase must be after its start_date.")
				}
				ph.EndDate = ed
			case hasIt && it > 0:
				iv := first.Recurring
				ph.EndDate = periodEnd(start, iv.Interval, iv.IntervalCount, it)
			default:
				return nil, invalidRequest(p+"[end_date]", "Every phase needs an `end_date` or `iterations`.")
			}
			phases = append(phases, ph)
			start = ph.EndDate
		}
		if phases[0].EndDate < q.t.now {
			return nil, invalidRequest("phases[0][end_date]", "The current phase cannot end in the past.")
		}
		sch.Phases = phases
		sch.CurrentPhase = &schedulePeriod{StartDate: phases[0].StartDate, EndDate: phases[0].EndDate}
	}
	s.put(q.t, sch)
	s.emit(q.t, "subscription_schedule.updated", sch, nil)
	return sch, nil
}

// releaseSchedule detaches the subscription, which keeps its current items
// and renews as it is.
func (s *Sandbox) releaseSchedule(q *request) (any, *apiError) {
	return s.endSchedule(q, "released")
}

// cancelSchedule cancels the schedule and its subscription now.
func (s *Sandbox) cancelSchedule(q *request) (any, *apiError) {
	return s.endSchedule(q, "canceled")
}

func (s *Sandbox) endSchedule(q *request, status string) (any, *apiError) {
	sch, err := byID[*subscriptionSchedule](s, q, "subscription_schedule")
	if err != nil {
		return nil, err
	}
	if sch.Status != "active" && sch.Status != "not_started" {
		return nil, invalidRequest("", "You cannot release or cancel a subscription schedule that is currently in the `%s` status.", sch.Status)
	}
	s.finishSchedule(q.t, sch, status)
	return sch, nil
}

// finishSchedule ends sch with status (released, canceled or completed) and
// detaches its subscription; canceled also cancels the subscription.
func (s *Sandbox) finishSchedule(t *txn, sch *subscriptionSchedule, status string) {
	sch.CurrentPhase = nil
	switch status {
	case "released", "completed":
		// end_behavior release ends a schedule as a release does.
		sch.ReleasedAt, sch.ReleasedSubscription = ptr(t.now), sch.Subscription
		status = "released"
	case "canceled":
		sch.CanceledAt = ptr(t.now)
	}
	var sub *subscription
	if sch.Subscription != nil {
		sub, _ = get[*subscription](s.st, *sch.Subscription)
	}
	sch.Status, sch.Subscription = status, nil
	s.put(t, sch)
	s.emit(t, "subscription_schedule."+status, sch, nil)
	if sub == nil || sub.Schedule == nil || *sub.Schedule != sch.ID {
		return
	}
	if status == "canceled" && sub.Status != "canceled" {
		sub.Schedule = nil
		s.cancelNow(t, sub, "cancellation_requested")
		return
	}
	before := s.snap(sub)
	sub.Schedule = nil
	s.put(t, sub)
	s.emit(t, "customer.subscription.updated", sub, before)
}

// schedulePhaseAt applies the schedule of sub at a period boundary (at):
// the subscription takes the items of the phase starting there; when the
// last phase ends there the schedule ends by its end_behavior. It reports
// whether the subscription was canceled.
func (s *Sandbox) schedulePhaseAt(t *txn, sub *subscription, at int64) (canceled bool) {
	if sub.Schedule == nil {
		return false
	}
	sch, ok := get[*subscriptionSchedule](s.st, *sub.Schedule)
	if !ok || sch.Status != "active" {
		return false
	}
	for _, ph := range sch.Phases {
		if ph.StartDate != at {
			continue
		}
		var items []subItem
		for _, pi := range ph.Items {
			pr, ok := get[*price](s.st, pi.Price)
			if !ok {
				continue
			}
			items = append(items, s.newItem(t, sub.ID, itemChange{price: pr, quantity: pi.Quantity, hasQty: true}))
		}
		if len(items) > 0 {
			sub.Items.Data = items
			sub.Items.TotalCount = int64(len(items))
		}
		sch.CurrentPhase = &schedulePeriod{StartDate: ph.StartDate, EndDate: ph.EndDate}
		s.put(t, sch)
		s.emit(t, "subscription_schedule.updated", sch, nil)
		return false
	}
	if last := sch.Phases[len(sch.Phases)-1]; last.EndDate <= at {
		if sch.EndBehavior == "cancel" {
			s.finishSchedule(t, sch, "canceled")
			return true
		}
		sch.CompletedAt = ptr(t.now)
		s.finishSchedule(t, sch, "completed")
	}
	return false
}
