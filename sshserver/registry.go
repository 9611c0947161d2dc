package sshserver

import (
	"context"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
)

// Registry keeps the open programs and, for each program bound to an
// account, one loop that follows that account's changes in the store's
// change feed, in the manner of charmbracelet/wishlist. Programs of other
// accounts are not woken.
//
// Each loop subscribes to its own account (store.Subscription, which
// coalesces a burst into one pending change) and, per wake-up, re-reads the
// account once and hands the result to its program; it reads again only
// after the program has applied the previous result. So at most one reload per
// session is in flight, a busy program costs no goroutines, and a writer
// never waits for a session. The model drops a reload older than the
// account version it shows (reloads it starts itself can race the loop's).
type Registry struct {
	feed Feed

	mu  sync.Mutex
	all map[*liveSession]struct{}
}

type liveSession struct {
	p    *tea.Program
	load func() tea.Msg // re-reads the session's account (an accountLoadedMsg)

	// guarded by Registry.mu
	account string
	stop    func() // ends the account loop; nil when unbound
	wake    chan struct{}
}

// Feed is the store's change feed as the registry follows it; store.Store
// satisfies it.
type Feed interface {
	SubscribeFrom(accountID string, fromSeq uint64) *store.Subscription
}

// NewRegistry returns an empty registry following feed.
func NewRegistry(feed Feed) *Registry {
	return &Registry{feed: feed, all: make(map[*liveSession]struct{})}
}

// Run returns when ctx ends. Sessions follow the feed on their own loops;
// Run remains so the UI's lifecycle reads the same as before.
func (r *Registry) Run(ctx context.Context) {
	<-ctx.Done()
}

// add registers a program; load re-reads its account. The returned session
// is bound to no account yet.
func (r *Registry) add(p *tea.Program, load func() tea.Msg) *liveSession {
	s := &liveSession{p: p, load: load, wake: make(chan struct{}, 1)}
	r.mu.Lock()
	r.all[s] = struct{}{}
	r.mu.Unlock()
	return s
}

// bind routes changes of accountID committed after seenSeq (the feed
// position read before the program read the account) to s.
func (r *Registry) bind(s *liveSession, accountID string, seenSeq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, open := r.all[s]; !open || s.account == accountID {
		return
	}
	if s.stop != nil {
		s.stop()
	}
	s.account = accountID
	sub := r.feed.SubscribeFrom(accountID, seenSeq)
	done := make(chan struct{})
	s.stop = func() {
		close(done)
		sub.Close()
	}
	go s.follow(sub, done)
}

// follow is a session's loop: wait for a change (or a WakeAll), re-read,
// hand the result to the program, wait until it is applied, repeat. p.Send
// blocks while the program is busy (and returns when it ends); changes
// arriving meanwhile coalesce in sub.
//
// p.Send returns as soon as the program's event loop receives the message,
// before Update runs. The loop then sends appliedMsg: the event loop reads
// messages one at a time from an unbuffered channel, so that second Send
// returns only after Update has taken the reload.
func (s *liveSession) follow(sub *store.Subscription, done chan struct{}) {
	for {
		select {
		case <-done:
			return
		case _, ok := <-sub.C():
			if !ok {
				return
			}
		case <-s.wake:
		}
		msg := s.load()
		select {
		case <-done:
			return
		default:
		}
		s.p.Send(msg)
		s.p.Send(appliedMsg{})
	}
}

// appliedMsg is the session loop's barrier after a reload (see follow);
// safeModel takes it, so the session's model never sees it.
type appliedMsg struct{}

// remove forgets s; called when its SSH session ends.
func (r *Registry) remove(s *liveSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	s.account = ""
	delete(r.all, s)
}

// Len reports how many programs are open.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// WakeAll makes every bound program re-read its account, as after a commit
// to it: when the billing clock jumps (the sandbox clock moved), so
// countdowns restart from the new time, not at their next tick.
func (r *Registry) WakeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.all {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// Broadcast sends msg to every open program without waiting for them.
func (r *Registry) Broadcast(msg tea.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.all {
		go s.p.Send(msg)
	}
}
