package billing

import (
	"sync"
	"time"
)

// quoteTTL is how long a preview's proration date is honoured: long enough
// to read the amount and confirm, short enough that a forgotten preview does
// not bill from a moment long past.
const quoteTTL = time.Hour

// quotes remembers the proration date of each (account, plan) preview, so
// the change the customer confirms is invoiced for exactly the amount they
// were shown (Stripe: pass the preview's proration_date to the update).
type quotes struct {
	mu sync.Mutex
	m  map[string]time.Time // account/plan → proration date
}

func (q *quotes) put(accountID, planID string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = make(map[string]time.Time)
	}
	for k, t := range q.m { // prune: the map holds only open previews
		if at.Sub(t) > quoteTTL {
			delete(q.m, k)
		}
	}
	q.m[accountID+"/"+planID] = at
}

// take returns and forgets the proration date previewed for (account,
// plan), if it is recent as of now.
func (q *quotes) take(accountID, planID string, now time.Time) (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := accountID + "/" + planID
	at, ok := q.m[k]
	delete(q.m, k)
	if !ok || now.Sub(at) > quoteTTL || at.After(now) {
		return time.Time{}, false
	}
	return at, true
}
