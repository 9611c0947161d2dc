package sshserver

import (
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish/ratelimiter"
)

// Observer hears of sessions the UI refuses or rescues, for metrics.
type Observer interface {
	RateLimited()    // a session refused by the per-IP rate limit
	PanicRecovered() // a session's panic caught; the session ended
}

type noObserver struct{}

func (noObserver) RateLimited()    {}
func (noObserver) PanicRecovered() {}

// observedLimiter tells the observer of each session its limiter refuses.
type observedLimiter struct {
	ratelimiter.RateLimiter
	obs Observer
}

func (l observedLimiter) Allow(s ssh.Session) error {
	err := l.RateLimiter.Allow(s)
	if err != nil {
		l.obs.RateLimited()
	}
	return err
}
