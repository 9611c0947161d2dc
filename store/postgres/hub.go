package postgres

import "sync"

// hub fans the feed's changes out to this process's subscribers. A
// subscriber's channel holds one pending wake-up: a wake-up means "read the
// feed after what you have seen", so several coalesce into one and a slow
// subscriber never holds up the reader.
type hub struct {
	mu     sync.Mutex
	subs   map[*hubSub]struct{}
	closed bool
}

type hubSub struct {
	accountID string // "" = every account
	c         chan struct{}
}

func newHub() *hub { return &hub{subs: map[*hubSub]struct{}{}} }

func (h *hub) subscribe(accountID string) *hubSub {
	s := &hubSub{accountID: accountID, c: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.c)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *hubSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.c)
	}
}

func (h *hub) publish(changes []Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.accountID != "" && !touches(changes, s.accountID) {
			continue
		}
		select {
		case s.c <- struct{}{}:
		default:
		}
	}
}

func touches(changes []Change, accountID string) bool {
	for _, c := range changes {
		if c.AccountID == accountID {
			return true
		}
	}
	return false
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		close(s.c)
	}
	clear(h.subs)
	h.closed = true
}
