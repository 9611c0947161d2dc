package ops

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portal/portal/store"
)

// column is a sortable column of the accounts table.
type column int

const (
	colEmail column = iota
	colPlan
	colState
	colTrialEnd
	colCard
	colCustomer
	colSubscription
	colLastSync
	numColumns
)

var columnNames = [numColumns]string{"Email", "Plan", "State", "Trial end", "Card", "Customer", "Subscription", "Last sync"}

func (c column) String() string { return columnNames[c] }

// row is the accounts table's copy of one account: only what the table
// shows, filters and searches. Rows are immutable once in the index; an
// update replaces the pointer.
type row struct {
	id             string
	email          string
	plan           string
	state          store.State
	trialEnd       time.Time
	hasCard        bool
	customerID     string
	subscriptionID string
	lastSync       time.Time
	cancelAtEnd    bool
	pending        bool
	trialUsed      bool
	version        uint64
	// converted: the account paid after its trial (ConvertedAt set).
	converted bool

	planRank  int
	stateRank int
	emailKey  string // lower-cased email: the sort key
	hay       string // lower-cased email, fingerprints, account and Stripe ids: the search haystack
}

// stateOrder is the states in the order of DESIGN.md's access table; it is
// the sort order of the State column and the cycle order of its filter.
var stateOrder = []store.State{
	store.StateNone, store.StateFree, store.StateTrial, store.StateActive, store.StateCanceling,
	store.StatePastDue, store.StateLockedTrialEnded, store.StateLockedUnpaid, store.StateLockedCanceled,
}

func stateRank(s store.State) int {
	if i := slices.Index(stateOrder, s); i >= 0 {
		return i
	}
	return len(stateOrder)
}

func newRow(a store.Account, planRank map[string]int) *row {
	r := &row{converted: !a.ConvertedAt.IsZero(),
		id: a.ID, email: a.Email, plan: a.Plan, state: a.State, trialEnd: a.TrialEnd, hasCard: a.HasCard,
		customerID: a.CustomerID, subscriptionID: a.SubscriptionID, lastSync: a.LastSyncAt,
		cancelAtEnd: a.CancelAtPeriodEnd, pending: a.PaymentPending, trialUsed: a.TrialUsed, version: a.Version,
		stateRank: stateRank(a.State), emailKey: strings.ToLower(a.Email),
	}
	r.planRank = len(planRank) + 1
	if a.Plan == "" {
		r.planRank = -1
	} else if rank, ok := planRank[a.Plan]; ok {
		r.planRank = rank
	}
	var hay strings.Builder
	hay.WriteString(r.emailKey)
	for _, s := range []string{a.ID, a.CustomerID, a.SubscriptionID} {
		hay.WriteByte(0)
		hay.WriteString(strings.ToLower(s))
	}
	for _, k := range a.Keys {
		hay.WriteByte(0)
		hay.WriteString(strings.ToLower(k.Fingerprint))
	}
	r.hay = hay.String()
	return r
}

// timeKey orders times with "none" after every real time, so an ascending
// sort by trial end lists the soonest first.
func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return 1<<63 - 1
	}
	return t.UnixNano()
}

func boolKey(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compare orders rows by col, then by email (ties read in a predictable
// order, not by random account id), then by id so that every order is total
// and an exact row can be found by binary search.
func compare(col column, a, b *row) int {
	var c int
	switch col {
	case colEmail:
		c = strings.Compare(a.emailKey, b.emailKey)
	case colPlan:
		c = cmp.Compare(a.planRank, b.planRank)
	case colState:
		c = cmp.Compare(a.stateRank, b.stateRank)
	case colTrialEnd:
		c = cmp.Compare(timeKey(a.trialEnd), timeKey(b.trialEnd))
	case colCard:
		c = cmp.Compare(boolKey(a.hasCard), boolKey(b.hasCard))
	case colCustomer:
		c = strings.Compare(a.customerID, b.customerID)
	case colSubscription:
		c = strings.Compare(a.subscriptionID, b.subscriptionID)
	case colLastSync:
		c = cmp.Compare(timeKey(a.lastSync), timeKey(b.lastSync))
	}
	if c != 0 {
		return c
	}
	if c = strings.Compare(a.emailKey, b.emailKey); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// index is the in-memory accounts table of the ops view, shared by every
// admin session. It keeps one sorted order per column, maintained
// incrementally as accounts change, so a query (filter, search, sort, page)
// is one linear pass over an already sorted slice: no store reads and no
// sorting per keystroke.
type index struct {
	planRank map[string]int

	mu      sync.RWMutex
	loaded  bool
	rows    map[string]*row
	orders  [numColumns][]*row
	gen     uint64        // +1 per applied batch
	changed chan struct{} // closed and replaced when gen moves
}

func newIndex(planRank map[string]int) *index {
	return &index{planRank: planRank, rows: map[string]*row{}, changed: make(chan struct{})}
}

// reset replaces the whole content with accts. The sorting happens before the lock is taken, so queries keep running on the
// old content meanwhile.
func (ix *index) reset(accts []store.Account) {
	rows := make(map[string]*row, len(accts))
	all := make([]*row, 0, len(accts))
	for _, a := range accts {
		r := newRow(a, ix.planRank)
		rows[a.ID] = r
		all = append(all, r)
	}
	var orders [numColumns][]*row
	var wg sync.WaitGroup
	for col := range numColumns {
		wg.Go(func() {
			o := slices.Clone(all)
			slices.SortFunc(o, func(a, b *row) int { return compare(col, a, b) })
			orders[col] = o
		})
	}
	wg.Wait()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.rows, ix.orders, ix.loaded = rows, orders, true
	ix.bumpLocked()
}

// apply puts changed accounts in and takes gone ids out, as one batch.
func (ix *index) apply(changed []store.Account, gone []string) {
	if len(changed) == 0 && len(gone) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range gone {
		if old := ix.rows[id]; old != nil {
			ix.removeLocked(old)
			delete(ix.rows, id)
		}
	}
	for _, a := range changed {
		if old := ix.rows[a.ID]; old != nil {
			if old.version > a.Version {
				continue // a stale read lost a race with a newer one
			}
			ix.removeLocked(old)
		}
		r := newRow(a, ix.planRank)
		ix.rows[a.ID] = r
		for col := range numColumns {
			o := ix.orders[col]
			i, _ := slices.BinarySearchFunc(o, r, func(x, t *row) int { return compare(col, x, t) })
			ix.orders[col] = slices.Insert(o, i, r)
		}
	}
	ix.bumpLocked()
}

func (ix *index) removeLocked(old *row) {
	for col := range numColumns {
		o := ix.orders[col]
		if i, ok := slices.BinarySearchFunc(o, old, func(x, t *row) int { return compare(col, x, t) }); ok {
			ix.orders[col] = slices.Delete(o, i, i+1)
		}
	}
}

func (ix *index) bumpLocked() {
	ix.gen++
	close(ix.changed)
	ix.changed = make(chan struct{})
}

// watch returns the current generation and a channel closed when it moves.
func (ix *index) watch() (uint64, <-chan struct{}) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.gen, ix.changed
}

// get returns a copy of the row for id.
func (ix *index) get(id string) (row, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, ok := ix.rows[id]
	if !ok {
		return row{}, false
	}
	return *r, true
}

// query is what the accounts table asks of the index.
type query struct {
	sort   column
	desc   bool
	states []store.State // nil: any state
	plans  []string      // nil: any plan ("" is "no plan chosen")
	search string        // substring of email, fingerprint, account or Stripe id; case-insensitive
	offset int
	limit  int
}

// result is one page of a query.
type result struct {
	rows   []row // copies
	total  int   // rows matching the query
	size   int   // rows in the index
	gen    uint64
	loaded bool
}

// run answers q in one pass over the order of q.sort.
func (ix *index) run(q query) result {
	needle := strings.ToLower(strings.TrimSpace(q.search))
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	res := result{size: len(ix.rows), gen: ix.gen, loaded: ix.loaded}
	order := ix.orders[q.sort]
	n := len(order)
	end := q.offset + q.limit
	for i := range n {
		r := order[i]
		if q.desc {
			r = order[n-1-i]
		}
		if q.states != nil && !slices.Contains(q.states, r.state) {
			continue
		}
		if q.plans != nil && !slices.Contains(q.plans, r.plan) {
			continue
		}
		if needle != "" && !strings.Contains(r.hay, needle) {
			continue
		}
		if res.total >= q.offset && res.total < end {
			res.rows = append(res.rows, *r)
		}
		res.total++
	}
	return res
}

// each visits every row, in no particular order, under the read lock; fn
// must not call back into the index.
func (ix *index) each(fn func(*row)) (loaded bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, r := range ix.rows {
		fn(r)
	}
	return ix.loaded
}
