package common

import (
	"context"
	"log/slog"
	"time"
)

// Identity is who a session is, established after SSH authentication from
// the key the client proved it holds (never from a key it merely offered).
type Identity struct {
	Fingerprint string // SHA256:...
	PublicKey   string // authorized_keys form, without comment
}

// Common is what every screen of one session shares: its context, services,
// clock, styles, identity and the terminal size.
type Common struct {
	Ctx    context.Context
	Logger *slog.Logger
	// Now is the billing clock (the sandbox's movable clock offline): for
	// trial and period times, which Stripe states in it. When something
	// happens in the portal (an account, a key, an audit entry) is the
	// store's wall clock: leave such times zero and the store stamps them.
	Now      func() time.Time
	Styles   *Styles
	Keys     KeyMap
	Identity Identity
	Width    int
	Height   int

	// Goodbye sets the line the session prints once its program has ended
	// (a line written while it runs vanishes with the alternate screen):
	// why the portal closed it. Nil in tests.
	Goodbye func(line string)

	// BindFunc tells the session registry which account this session now
	// shows, so that store changes to it reach this program. Nil in tests.
	BindFunc func(accountID string, seenSeq uint64)
}

// Bind routes live updates for accountID to this session: every change
// committed after seenSeq, the change feed's position read before the
// account was.
func (c *Common) Bind(accountID string, seenSeq uint64) {
	if c.BindFunc != nil {
		c.BindFunc(accountID, seenSeq)
	}
}

// SayGoodbye sets the session's closing line (see Goodbye).
func (c *Common) SayGoodbye(line string) {
	if c.Goodbye != nil {
		c.Goodbye(line)
	}
}
