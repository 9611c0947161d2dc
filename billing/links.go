package billing

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Short links. Checkout and billing-portal URLs run to 100-160+ characters
// and wrap on an 80-column terminal, where a wrapped URL cannot be clicked
// or copied whole. The Service hands out <PublicURL>/l/<token> instead and
// LinkHandler redirects it to the Stripe page.

const (
	// portalLinkTTL is how long a billing-portal link is kept: Stripe gives
	// portal sessions no expiry of their own.
	portalLinkTTL = 24 * time.Hour
	// checkoutLinkTTL is used only if a Checkout Session came without
	// expires_at (Stripe's default is 24 hours).
	checkoutLinkTTL = 24 * time.Hour
	// maxLinks bounds the table; when it is full of live links, links are
	// handed out long (Link.URL = Link.Target) rather than evicting.
	maxLinks = 1 << 16
	// tokenLen is the token length: 10 base32 characters, 50 random bits.
	tokenLen = 10
)

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// linkTable maps tokens to Stripe URLs until they expire. Expired entries
// are dropped lazily: on lookup, and in a sweep at most once a minute when
// links are added.
type linkTable struct {
	mu      sync.Mutex
	m       map[string]linkEntry
	sweptAt time.Time
}

type linkEntry struct {
	target  string
	expires time.Time
}

// add stores target until expires and returns its token, or "" when the
// table is full.
func (t *linkTable) add(target string, expires, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]linkEntry{}
	}
	if now.Sub(t.sweptAt) >= time.Minute || len(t.m) >= maxLinks {
		t.sweptAt = now
		for tok, e := range t.m {
			if !now.Before(e.expires) {
				delete(t.m, tok)
			}
		}
	}
	if len(t.m) >= maxLinks {
		return ""
	}
	for {
		tok := newToken()
		if _, taken := t.m[tok]; !taken {
			t.m[tok] = linkEntry{target: target, expires: expires}
			return tok
		}
	}
}

// get returns the target of a live token, or "".
func (t *linkTable) get(tok string, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[tok]
	if !ok {
		return ""
	}
	if !now.Before(e.expires) {
		delete(t.m, tok)
		return ""
	}
	return e.target
}

func newToken() string {
	var b [tokenLen]byte
	rand.Read(b[:]) // never fails (crypto/rand: Go 1.24+)
	for i := range b {
		b[i] = tokenAlphabet[b[i]&31]
	}
	return string(b[:])
}

// shorten returns l with Target set to its Stripe URL and URL to a short
// link that redirects there until l.ExpiresAt (set to now+ttl when zero).
// When the table is full the link stays long.
func (s *Service) shorten(l Link, ttl time.Duration) Link {
	now := s.now()
	if l.ExpiresAt.IsZero() {
		l.ExpiresAt = now.Add(ttl)
	}
	l.Target = l.URL
	tok := s.links.add(l.Target, l.ExpiresAt, now)
	if tok == "" {
		s.log.Warn("billing: short-link table full; handing out the long link", "links", maxLinks)
		return l
	}
	l.URL = s.publicURL + "/l/" + tok
	return l
}

// LinkHandler serves the short links of CardLink, CheckoutLink and
// PortalLink: GET (or HEAD) /l/{token} answers 302 to the Stripe page, or
// 404 with a short plain message for a token that is unknown or expired
// (tokens live in memory: a restart forgets them, and the customer makes a
// new link). Mount it at /l/ without stripping the prefix. Replies are never
// cached, and the redirect sends no Referer to Stripe.
func (s *Service) LinkHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Links are opened with GET.", http.StatusMethodNotAllowed)
			return
		}
		var target string
		if tok, ok := strings.CutPrefix(r.URL.Path, "/l/"); ok && len(tok) == tokenLen {
			target = s.links.get(tok, s.now())
		}
		if target == "" {
			http.Error(w, "This link is unknown or has expired. Make a new one in the portal (ssh).", http.StatusNotFound)
			return
		}
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, target, http.StatusFound)
	})
}
