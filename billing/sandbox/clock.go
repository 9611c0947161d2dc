package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ClockID is the id of the sandbox's one test clock.
const ClockID = "clock_sandbox"

// dueItem is one piece of clock-driven work.
type dueItem struct {
	at   int64
	prio int // order among items due at the same second
	seq  uint64
	key  string
	run  func(t *txn)
}

func (a dueItem) before(b dueItem) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}

// nextDue finds the earliest work due at or before limit.
func (s *Sandbox) nextDue(limit int64) (dueItem, bool) {
	var best dueItem
	found := false
	consider := func(it dueItem) {
		if it.at <= limit && (!found || it.before(best)) {
			best, found = it, true
		}
	}
	for _, sub := range all[*subscription](s.st, "subscription") {
		seq := s.st.seq[sub.ID]
		switch sub.Status {
		case "trialing":
			if sub.TrialWillEndSentFor != *sub.TrialEnd {
				consider(dueItem{at: max(*sub.TrialEnd-trialWillEndLead, *sub.TrialStart), prio: 0, seq: seq, key: "twe:" + sub.ID,
					run: func(t *txn) { s.maybeTrialWillEnd(t, sub) }})
			}
			consider(dueItem{at: *sub.TrialEnd, prio: 1, seq: seq, key: "trial:" + sub.ID, run: func(t *txn) { s.endTrial(t, sub) }})
		case "active", "past_due":
			if sub.CancelAt != nil && !sub.CancelAtPeriodEnd && *sub.CancelAt < sub.CurrentPeriodEnd {
				consider(dueItem{at: *sub.CancelAt, prio: 2, seq: seq, key: "cancel:" + sub.ID,
					run: func(t *txn) { s.cancelNow(t, sub, "cancellation_requested") }})
			}
			consider(dueItem{at: sub.CurrentPeriodEnd, prio: 2, seq: seq, key: "renew:" + sub.ID, run: func(t *txn) { s.renew(t, sub) }})
		case "incomplete":
			if sub.IncompleteExpiresAt > 0 {
				consider(dueItem{at: sub.IncompleteExpiresAt, prio: 2, seq: seq, key: "expire:" + sub.ID, run: func(t *txn) { s.expireIncomplete(t, sub) }})
			}
		}
		if pu := sub.PendingUpdate; pu != nil {
			consider(dueItem{at: pu.ExpiresAt, prio: 3, seq: seq, key: "pending:" + sub.ID, run: func(t *txn) { s.expirePendingUpdate(t, sub) }})
		}
	}
	for _, inv := range all[*invoice](s.st, "invoice") {
		if *inv.Status == "open" && inv.NextPaymentAttempt != nil {
			consider(dueItem{at: *inv.NextPaymentAttempt, prio: 4, seq: s.st.seq[*inv.ID], key: "retry:" + *inv.ID, run: func(t *txn) { s.retryInvoice(t, inv) }})
		}
		if *inv.Status == "open" && inv.DunningEndsAt != 0 {
			consider(dueItem{at: inv.DunningEndsAt, prio: 4, seq: s.st.seq[*inv.ID], key: "dunning:" + *inv.ID, run: func(t *txn) { s.endDunning(t, inv) }})
		}
	}
	for _, cs := range all[*checkoutSession](s.st, "checkout.session") {
		if cs.Status == "open" {
			consider(dueItem{at: cs.ExpiresAt, prio: 5, seq: s.st.seq[cs.ID], key: "cs:" + cs.ID, run: func(t *txn) { s.expireSession(t, cs) }})
		}
	}
	return best, found
}

// playOut runs due work up to target (a sandbox unix time) in order, each
// item at its own due time and in its own committed transaction.
func (s *Sandbox) playOut(ctx context.Context, target int64) error {
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done := false
		var stuck error
		err := s.update(func(t *txn) bool {
			it, ok := s.nextDue(target)
			if !ok {
				done = true
				return true
			}
			key := fmt.Sprintf("%s@%d", it.key, it.at)
			if key == last {
				stuck = fmt.Errorf("sandbox: due work %s made no progress", key)
				return true
			}
			last = key
			t.now = it.at
			it.run(t)
			return true
		})
		switch {
		case errors.Is(err, errClosed):
			return nil
		case err != nil:
			return err
		case stuck != nil:
			return stuck
		case done:
			return nil
		}
	}
}

// Test clock API: the one clock, clock_sandbox.

type testClock struct {
	ID           string  `json:"id"`
	Object       string  `json:"object"`
	Created      int64   `json:"created"`
	DeletesAfter int64   `json:"deletes_after"`
	FrozenTime   int64   `json:"frozen_time"`
	Livemode     bool    `json:"livemode"`
	Name         *string `json:"name"`
	Status       string  `json:"status"`
}

func (s *Sandbox) clockView() *testClock {
	now := s.nowLocked().Unix()
	return &testClock{ID: ClockID, Object: "test_helpers.test_clock", Created: now, DeletesAfter: now + 30*day,
		FrozenTime: now, Name: ptr("offline sandbox clock"), Status: "ready"}
}

func (s *Sandbox) retrieveClock(q *request) (any, *apiError) {
	if q.id() != ClockID {
		return nil, noSuch("test_clock", q.id())
	}
	return s.clockView(), nil
}

func (s *Sandbox) listClocks(q *request) (any, *apiError) {
	return listOf[any]{Object: "list", Data: []any{s.clockView()}, URL: "/v1/test_helpers/test_clocks"}, nil
}

// advanceClock serves POST .../clock_sandbox/advance. It is not a normal
// write: it releases nothing and plays out due work itself, so it is wired
// without the shared write path.
func (s *Sandbox) advanceClockHTTP(q *request) (any, *apiError) {
	if q.id() != ClockID {
		return nil, noSuch("test_clock", q.id())
	}
	ft, ok, err := q.f.int("frozen_time")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, paramMissing("frozen_time")
	}
	cur := s.Now()
	if ft < cur.Unix() {
		return nil, invalidRequest("frozen_time", "The frozen_time (%d) must be later than the test clock's current frozen_time (%d): the sandbox clock only moves forward.", ft, cur.Unix())
	}
	if err := s.advanceTo(q.r.Context(), time.Unix(ft, 0)); err != nil {
		return nil, internalError(err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clockView(), nil
}
