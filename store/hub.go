package store

import (
	"context"
	"sync"
	"time"
)

// pumpBatch is how many changes an all-accounts subscription reads from the
// durable feed at a time.
const pumpBatch = 256

// pumpRetry is how long an all-accounts subscription waits before reading the
// feed again after the store failed to answer (unless woken sooner).
const pumpRetry = time.Second

// Subscription receives Changes until it, or the store, is closed.
//
// An account's subscription (SubscribeFrom(id, seq)) coalesces: C holds at
// most one Change, the newest, since a change only means "re-read the
// account"; a subscriber that reads late gets one Change, never a backlog.
// An all-accounts subscription (SubscribeFrom("", seq)) delivers every
// change, one by one in Seq order, read from the durable feed by the
// subscription's own goroutine: it can fall behind without limit, loses
// nothing and never makes a writer wait.
type Subscription struct {
	hub       *Hub
	accountID string
	all       bool
	c         chan Change
	// from is the newest Seq an account subscription started after or was
	// offered: a change at or before it is not news to the subscriber. (An engine that publishes
	// what its listener reads, PostgreSQL, may publish a change again after
	// a subscriber started past it.)
	from uint64

	// all-accounts only: the pump's wake-up, stop and done signals.
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}

	closed bool // guarded by hub.mu
}

// C returns the channel of changes. It is closed by Close and by the store's Close.
func (s *Subscription) C() <-chan Change { return s.c }

// Close ends the subscription and closes C. It is idempotent and safe to call
// concurrently with writers.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	s.hub.removeLocked(s)
	s.hub.mu.Unlock()
	if s.all {
		<-s.stopped
	}
}

// ChangeSource is the part of an Engine a Hub reads: catch-up for new
// subscriptions and the all-accounts pumps.
type ChangeSource interface {
	LastSeq(ctx context.Context, accountID string) (uint64, error)
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)
}

// Hub fans committed changes out to one process's subscriptions; engines
// share it. An engine calls Publish with the changes it knows to be
// committed (bbolt: after each commit; PostgreSQL: what its listener read
// from the feed table), and implements SubscribeFrom with Hub.Subscribe.
// Publish never blocks on a subscriber.
type Hub struct {
	src ChangeSource

	mu     sync.Mutex
	byAcct map[string]map[*Subscription]struct{}
	all    map[*Subscription]struct{}
	closed bool
}

// NewHub returns a Hub reading catch-up from src.
func NewHub(src ChangeSource) *Hub {
	return &Hub{src: src, byAcct: make(map[string]map[*Subscription]struct{}), all: make(map[*Subscription]struct{})}
}

// Subscribe is Engine.SubscribeFrom. It reads the store (catch-up): never
// call it inside a transaction.
func (h *Hub) Subscribe(accountID string, fromSeq uint64) *Subscription {
	s := &Subscription{hub: h, accountID: accountID, all: accountID == "", from: fromSeq}
	if s.all {
		s.c = make(chan Change)
		s.wake = make(chan struct{}, 1)
		s.done = make(chan struct{})
		s.stopped = make(chan struct{})
	} else {
		s.c = make(chan Change, 1)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		s.closed = true
		close(s.c)
		if s.all {
			close(s.stopped)
		}
		return s
	}
	if s.all {
		h.all[s] = struct{}{}
	} else {
		m := h.byAcct[accountID]
		if m == nil {
			m = make(map[*Subscription]struct{})
			h.byAcct[accountID] = m
		}
		m[s] = struct{}{}
	}
	h.mu.Unlock()

	if s.all {
		go s.pump(fromSeq)
		return s
	}
	// Registered first, then caught up: a change committed in between is
	// delivered once or twice (coalesced), never missed.
	last, err := h.src.LastSeq(context.Background(), accountID)
	switch {
	case err != nil:
		// Cannot tell what was missed: a re-read is always safe.
		h.mu.Lock()
		if !s.closed {
			s.offerLocked(Change{Seq: fromSeq, AccountID: accountID})
		}
		h.mu.Unlock()
	case last > fromSeq:
		h.Publish(Change{Seq: last, AccountID: accountID})
	}
	return s
}

// Publish tells the subscriptions about committed changes. Call it only
// after the commit. It never blocks.
func (h *Hub) Publish(changes ...Change) {
	if len(changes) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range changes {
		for s := range h.byAcct[ch.AccountID] {
			if ch.Seq > s.from {
				s.offerLocked(ch)
				// Offered changes are not news again either: PostgreSQL
				// publishes a change at commit and once more when its
				// listener reads it.
				s.from = ch.Seq
			}
		}
	}
	for s := range h.all {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// offerLocked puts ch in an account subscription's one-slot buffer, keeping
// whichever pending change is newer. Only the hub sends on c, under h.mu, so
// after a drain the send cannot block.
func (s *Subscription) offerLocked(ch Change) {
	select {
	case s.c <- ch:
		return
	default:
	}
	select {
	case old := <-s.c:
		if old.Seq > ch.Seq {
			ch = old
		}
	default:
	}
	select {
	case s.c <- ch:
	default:
	}
}

// pump delivers every change after `after` from the durable feed to an
// all-accounts subscription, reading again whenever Publish wakes it.
func (s *Subscription) pump(after uint64) {
	defer close(s.stopped)
	defer close(s.c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.done
		cancel()
	}()
	for {
		changes, err := s.hub.src.Changes(ctx, after, pumpBatch)
		for _, ch := range changes {
			select {
			case s.c <- ch:
				after = ch.Seq
			case <-s.done:
				return
			}
		}
		if err == nil && len(changes) == pumpBatch {
			continue // more waiting
		}
		var retry <-chan time.Time
		var t *time.Timer
		if err != nil {
			t = time.NewTimer(pumpRetry)
			retry = t.C
		}
		select {
		case <-s.wake:
		case <-retry:
		case <-s.done:
			return
		}
		if t != nil {
			t.Stop()
		}
	}
}

func (h *Hub) removeLocked(s *Subscription) {
	if s.closed {
		return
	}
	if s.all {
		delete(h.all, s)
	} else if m := h.byAcct[s.accountID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.byAcct, s.accountID)
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

// Close ends every subscription and waits for their goroutines; later
// Subscribe calls get a closed C.
func (h *Hub) Close() {
	h.mu.Lock()
	var pumps []*Subscription
	for s := range h.all {
		pumps = append(pumps, s)
		h.removeLocked(s)
	}
	for _, m := range h.byAcct {
		for s := range m {
			h.removeLocked(s)
		}
	}
	h.closed = true
	h.mu.Unlock()
	for _, s := range pumps {
		<-s.stopped
	}
}
