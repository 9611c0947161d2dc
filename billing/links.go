package billing

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/portal/portal/store"
)

// Short links. Checkout and billing-portal URLs run to 100-160+ characters
// and wrap on an 80-column terminal, where a wrapped URL cannot be clicked
// or copied whole. The Service hands out <PublicURL>/l/<token> instead and
// LinkHandler redirects it to the Stripe page. Links are kept in the store,
// so one shown before a restart (or scanned as a QR code) still works after.

const (
	// portalLinkTTL is how long a billing-portal link is kept: Stripe gives
	// portal sessions no expiry of their own.
	portalLinkTTL = 24 * time.Hour
	// checkoutLinkTTL is used only if a Checkout Session came without
	// expires_at (Stripe's default is 24 hours).
	checkoutLinkTTL = 24 * time.Hour
	// linkSweepEvery is how often RunLinkSweep deletes expired links: links
	// only pile up at the rate they are made, and an expired one is refused
	// whether it is still stored or not.
	linkSweepEvery = time.Minute
	// tokenLen is the token length: 26 base32 characters, 130 random bits,
	// past guessing at any rate. A link on localhost is 50 characters (one
	// line at 80 columns) and still a version-3 QR code (29 modules) at
	// level L, the size 10 characters made.
	tokenLen = 26
)

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// RunLinkSweep deletes the expired short links at once and then every
// `every` (a minute when <= 0), until ctx ends. It is a job that must run on
// one instance at a time (the app runs it under its elector): with several
// instances on one database, a sweep on each would repeat the same DELETE.
func (s *Service) RunLinkSweep(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = linkSweepEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.SweepLinks(); err != nil {
			s.log.Warn("billing: sweeping expired short links", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepLinks deletes the short links expired by the billing clock's now and
// says how many.
func (s *Service) SweepLinks() (int, error) { return s.db.DeleteExpiredLinks(s.now()) }

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
// When the store cannot keep the link, the link stays long: it still works.
func (s *Service) shorten(l Link, ttl time.Duration) Link {
	now := s.now()
	if l.ExpiresAt.IsZero() {
		l.ExpiresAt = now.Add(ttl)
	}
	l.Target = l.URL
	for range 3 { // 130 random bits: a taken token is all but impossible
		tok := newToken()
		err := s.db.PutLink(tok, l.Target, l.ExpiresAt)
		if errors.Is(err, store.ErrLinkTaken) {
			continue
		}
		if err != nil {
			s.log.Warn("billing: short link not stored; handing out the long link", "err", err)
			return l
		}
		l.URL = s.publicURL + "/l/" + tok
		return l
	}
	return l
}

// LinkHandler serves the short links of CardLink, CheckoutLink and
// PortalLink: GET (or HEAD) /l/{token} answers 302 to the Stripe page, or
// 404 with a short plain message for a token that is unknown or expired,
// or 503 when the store cannot be read. Mount it at /l/ without stripping
// the prefix. Replies are never cached, and the redirect sends no Referer
// to Stripe.
func (s *Service) LinkHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Links are opened with GET.", http.StatusMethodNotAllowed)
			return
		}
		err := store.ErrNotFound
		var target string
		if tok, ok := strings.CutPrefix(r.URL.Path, "/l/"); ok && len(tok) == tokenLen {
			target, err = s.db.Link(tok, s.now())
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			http.Error(w, "This link is unknown or has expired. Make a new one in the portal (ssh).", http.StatusNotFound)
			return
		case err != nil:
			s.log.Error("billing: reading a short link", "err", err)
			http.Error(w, "The portal cannot open this link right now. Try again in a moment.", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, target, http.StatusFound)
	})
}
