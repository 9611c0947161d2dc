package tui

import (
	"context"
	"sync"
	"sync/atomic"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
)

// Registry knows which account each open program shows and pushes a
// notification into those programs after every commit to that account (the
// store's change feed), in the manner of charmbracelet/wishlist. Programs of
// other accounts are not woken.
//
// Delivery never blocks the feed: each session coalesces notifications into
// at most one pending p.Send, because a notification only means "re-read".
type Registry struct {
	mu        sync.Mutex
	byAccount map[string]map[*liveSession]struct{}
	all       map[*liveSession]struct{}
}

type liveSession struct {
	p       *tea.Program
	account string // guarded by Registry.mu
	pending atomic.Bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		byAccount: make(map[string]map[*liveSession]struct{}),
		all:       make(map[*liveSession]struct{}),
	}
}

// Run follows db's change feed until ctx ends, waking the programs of each
// changed account; on a feed overflow it wakes every program.
func (r *Registry) Run(ctx context.Context, db *store.DB) {
	sub := db.Subscribe("")
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-sub.C():
			if !ok {
				return
			}
			if ch.Resync || ch.AccountID == "" {
				r.WakeAll()
				continue
			}
			r.notify(ch.AccountID)
		}
	}
}

// add registers a program; the returned session is bound to no account yet.
func (r *Registry) add(p *tea.Program) *liveSession {
	s := &liveSession{p: p}
	r.mu.Lock()
	r.all[s] = struct{}{}
	r.mu.Unlock()
	return s
}

// bind routes changes of accountID to s.
func (r *Registry) bind(s *liveSession, accountID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.account == accountID {
		return
	}
	r.unbindLocked(s)
	s.account = accountID
	set := r.byAccount[accountID]
	if set == nil {
		set = make(map[*liveSession]struct{})
		r.byAccount[accountID] = set
	}
	set[s] = struct{}{}
}

// remove forgets s; called when its SSH session ends.
func (r *Registry) remove(s *liveSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unbindLocked(s)
	delete(r.all, s)
}

func (r *Registry) unbindLocked(s *liveSession) {
	if s.account == "" {
		return
	}
	if set := r.byAccount[s.account]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(r.byAccount, s.account)
		}
	}
	s.account = ""
}

// Len reports how many programs are open.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

func (r *Registry) notify(accountID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.byAccount[accountID] {
		s.wake()
	}
}

// WakeAll makes every open program re-read its account, as after a commit
// to it: on a feed overflow, and when the billing clock jumps (the sandbox
// clock moved), so countdowns restart from the new time, not at their next
// tick.
func (r *Registry) WakeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.all {
		s.wake()
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

// wake schedules one accountChangedMsg unless one is already on its way.
// p.Send blocks until the program's loop takes the message (or the program
// ends), so it runs on its own goroutine.
func (s *liveSession) wake() {
	if s.pending.Swap(true) {
		return
	}
	go func() {
		s.pending.Store(false)
		s.p.Send(accountChangedMsg{})
	}()
}
