package accounts

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound link attempts. A wrong code costs its sender an attempt
// from its address; a code that was found (used, expired, or a new one
// made) costs its account one.
type Limits struct {
	// PerAddress is attempts per source address: Burst at once, then one
	// every Every.
	PerAddressBurst int
	PerAddressEvery time.Duration
	// PerAccount is codes made plus refused uses of the account's codes.
	PerAccountBurst int
	PerAccountEvery time.Duration
}

// DefaultLimits: 10 tries from an address, then one a minute; 10 per
// account, then one every 2 minutes. A person who mistypes a code twice
// never meets them; guessing a 40-bit code at these rates takes ages.
var DefaultLimits = Limits{PerAddressBurst: 10, PerAddressEvery: time.Minute, PerAccountBurst: 10, PerAccountEvery: 2 * time.Minute}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.PerAddressBurst <= 0 {
		l.PerAddressBurst = d.PerAddressBurst
	}
	if l.PerAddressEvery <= 0 {
		l.PerAddressEvery = d.PerAddressEvery
	}
	if l.PerAccountBurst <= 0 {
		l.PerAccountBurst = d.PerAccountBurst
	}
	if l.PerAccountEvery <= 0 {
		l.PerAccountEvery = d.PerAccountEvery
	}
	return l
}

// maxTracked bounds each limiter map; when full, buckets that have refilled
// (they limit nobody) are dropped first, then the map is cleared rather
// than grown without bound.
const maxTracked = 10_000

// limiter holds token buckets per address and per account. They live in
// memory: a limit that resets on restart, or is per instance, still keeps
// guessing a 40-bit code hopeless, while the codes themselves are stored.
type limiter struct {
	mu    sync.Mutex
	cfg   Limits
	now   func() time.Time
	addrs map[string]*rate.Limiter
	accts map[string]*rate.Limiter
}

func newLimiter(cfg Limits, now func() time.Time) *limiter {
	return &limiter{cfg: cfg, now: now, addrs: map[string]*rate.Limiter{}, accts: map[string]*rate.Limiter{}}
}

// address takes one attempt from addr's bucket: 0, or how long until the
// next one is allowed.
func (l *limiter) address(addr string) time.Duration {
	return l.take(l.addrs, addr, l.cfg.PerAddressBurst, l.cfg.PerAddressEvery)
}

func (l *limiter) account(id string) time.Duration {
	return l.take(l.accts, id, l.cfg.PerAccountBurst, l.cfg.PerAccountEvery)
}

func (l *limiter) take(m map[string]*rate.Limiter, k string, burst int, every time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := m[k]
	if !ok {
		if len(m) >= maxTracked {
			for k, b := range m {
				if b.TokensAt(now) >= float64(b.Burst()) {
					delete(m, k)
				}
			}
			if len(m) >= maxTracked {
				clear(m)
			}
		}
		b = rate.NewLimiter(rate.Every(every), burst)
		m[k] = b
	}
	if b.AllowN(now, 1) {
		return 0
	}
	return time.Duration((1 - b.TokensAt(now)) * float64(every))
}

// hostOf is the host part of a remote address ("1.2.3.4:5678" → "1.2.3.4").
func hostOf(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}
