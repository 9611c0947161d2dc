package store

import "sync"

// allBuffer is how many distinct pending changes an all-accounts subscription
// holds before it drops them and owes the subscriber a Resync.
const allBuffer = 256

// Change tells a subscriber that an account changed; re-read it from the store.
type Change struct {
	AccountID string // "" with Resync: anything may have changed
	Resync    bool   // the subscriber missed notifications: re-read everything it shows
}

// Subscription receives Changes until it or the DB is closed.
type Subscription struct {
	feed      *feed
	accountID string
	all       bool
	c         chan Change

	// Only for all-accounts subscriptions, guarded by feed.mu: pending changes
	// (deduplicated by account), an owed Resync, and the pump's wake-up and stop
	// signals. The pump goroutine owns sending on c and closing it.
	queue   []string
	queued  map[string]bool
	resync  bool
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}

	closed bool // guarded by feed.mu
}

// C returns the channel of changes. It is closed by Close and by the DB's Close.
func (s *Subscription) C() <-chan Change { return s.c }

// Close ends the subscription and closes C. It is idempotent and safe to call
// concurrently with writers.
func (s *Subscription) Close() {
	s.feed.mu.Lock()
	s.feed.removeLocked(s)
	s.feed.mu.Unlock()
	if s.all {
		<-s.stopped
	}
}

// Subscribe delivers a Change after every commit touching accountID, or every
// account when accountID is "". It never blocks writers: a per-account
// subscription coalesces (buffer 1; a pending Change already says "re-read");
// an all-accounts subscription queues up to 256 distinct accounts and, on
// overflow, drops them and delivers one Change{Resync: true} as soon as the
// subscriber reads again. After the DB is closed, C is closed at once.
func (db *DB) Subscribe(accountID string) *Subscription {
	return db.feed.subscribe(accountID)
}

// feed is the registry of subscriptions, keyed by account id ("" = all).
type feed struct {
	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{}
	closed bool
}

func newFeed() *feed {
	return &feed{subs: make(map[string]map[*Subscription]struct{})}
}

func (f *feed) subscribe(accountID string) *Subscription {
	s := &Subscription{feed: f, accountID: accountID, all: accountID == ""}
	if s.all {
		s.c = make(chan Change)
		s.queued = make(map[string]bool)
		s.wake = make(chan struct{}, 1)
		s.done = make(chan struct{})
		s.stopped = make(chan struct{})
		go s.pump()
	} else {
		s.c = make(chan Change, 1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		s.closeLocked()
		return s
	}
	m := f.subs[accountID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		f.subs[accountID] = m
	}
	m[s] = struct{}{}
	return s
}

// notify tells subscribers of accountID and of all accounts. Call it only after
// a commit. It never blocks.
func (f *feed) notify(accountID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs[accountID] {
		select {
		case s.c <- Change{AccountID: accountID}:
		default: // a Change is already pending: coalesce
		}
	}
	for s := range f.subs[""] {
		s.enqueueLocked(accountID)
	}
}

func (s *Subscription) enqueueLocked(accountID string) {
	switch {
	case s.resync || s.queued[accountID]:
		// already covered by a pending Resync or Change
	case len(s.queue) >= allBuffer:
		s.queue = s.queue[:0]
		clear(s.queued)
		s.resync = true
	default:
		s.queue = append(s.queue, accountID)
		s.queued[accountID] = true
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next pops the next Change to deliver, if any.
func (s *Subscription) next() (Change, bool) {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if s.resync {
		s.resync = false
		return Change{Resync: true}, true
	}
	if len(s.queue) == 0 {
		return Change{}, false
	}
	id := s.queue[0]
	s.queue = s.queue[1:]
	delete(s.queued, id)
	return Change{AccountID: id}, true
}

// pump moves queued changes to the unbuffered C for an all-accounts subscription.
func (s *Subscription) pump() {
	defer close(s.stopped)
	defer close(s.c)
	for {
		ch, ok := s.next()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		select {
		case s.c <- ch:
		case <-s.done:
			return
		}
	}
}

func (f *feed) removeLocked(s *Subscription) {
	if s.closed {
		return
	}
	if m := f.subs[s.accountID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(f.subs, s.accountID)
		}
	}
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	if s.all {
		close(s.done) // the pump closes c
	} else {
		close(s.c)
	}
}

// close ends every subscription; later Subscribe calls get a closed C.
func (f *feed) close() {
	f.mu.Lock()
	var all []*Subscription
	for _, m := range f.subs {
		for s := range m {
			all = append(all, s)
		}
	}
	for _, s := range all {
		f.removeLocked(s)
	}
	f.closed = true
	f.mu.Unlock()
	for _, s := range all {
		if s.all {
			<-s.stopped
		}
	}
}
