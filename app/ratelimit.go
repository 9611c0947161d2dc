package app

import (
	"net/http"
	"net/netip"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/portal/portal/sshguard"
	"golang.org/x/time/rate"
)

// perAddr limits requests per source address (an IPv6 client by its /64):
// past the rate, next answers 429 with Retry-After. It keeps the limiters
// of the 10,000 addresses seen last; an address evicted starts afresh,
// which only matters to a client with that many addresses.
//
// Caveat: behind a reverse proxy every request comes from the proxy's
// address, so the limit applies to all clients together.
func perAddr(limit rate.Limit, burst int, limited func(), next http.Handler) http.Handler {
	cache, _ := lru.New[netip.Prefix, *rate.Limiter](10_000) // fails only for a size <= 0
	var mu sync.Mutex                                        // makes get-or-add atomic
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := sshguard.Source(r.RemoteAddr)
		mu.Lock()
		l, ok := cache.Get(key)
		if !ok {
			l = rate.NewLimiter(limit, burst)
			cache.Add(key, l)
		}
		mu.Unlock()
		if !l.Allow() {
			if limited != nil {
				limited()
			}
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "Too many link lookups from your address; try again in a moment.", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
