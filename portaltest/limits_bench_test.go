package portaltest

import (
	"log/slog"
	"testing"

	"github.com/portal/portal/app"
)

// BenchmarkSessionsLimitsOff is BenchmarkSessions with every limit of
// issue 11 raised out of reach (connections in all and per address,
// handshakes, sessions per connection, env, resize rate, HTTP connections),
// to compare with BenchmarkSessions, whose limits are the defaults: the
// limits must cost nothing measurable. The guard itself still runs; what
// is compared is its limits being in force. Alternate the two in separate
// runs of one test binary:
//
//	go test -c -o /tmp/portaltest.test ./portaltest
//	/tmp/portaltest.test -test.run '^$' -test.bench '^BenchmarkSessions$' -test.benchtime 1x
//	/tmp/portaltest.test -test.run '^$' -test.bench '^BenchmarkSessionsLimitsOff$' -test.benchtime 1x
func BenchmarkSessionsLimitsOff(b *testing.B) {
	raiseFileLimit(b)
	const huge = 1 << 30
	p := Start(b, WithLogger(slog.New(slog.DiscardHandler)), WithConfig(func(c *app.Config) {
		c.RateLimit, c.RateBurst = 1e9, huge
		l := &c.SSHLimits
		l.MaxConns, l.MaxConnsPerAddr, l.MaxSessions = huge, huge, huge
		l.MaxHandshakes = 1 << 20 // a channel's buffer of empty structs
		l.MaxEnvCount, l.MaxEnvBytes = huge, huge
		l.ResizeRate = 1e9
		c.HTTPLimits.MaxConns = huge
		c.HTTPLimits.LinkRate, c.HTTPLimits.LinkBurst = 1e9, huge
	}))
	benchSessions(b, p.SSHAddr(), p.App.UI().Registry().Len, envInt(benchNEnv, 1000), envInt(benchConcEnv, 32))
}
