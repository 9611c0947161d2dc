package portaltest

import (
	"errors"
	"testing"
	"time"

	"github.com/portal/portal/sshguard"
	"golang.org/x/crypto/ssh"
)

// Channels per connection (issue 11): one connection may hold at most
// MaxSessions session channels at once (the default, 10); past it the
// channel is refused with "resource shortage", a closed one frees its
// place, and channel types the portal does not serve are refused outright,
// so no other kind piles up either.
func TestHostileChannelsPerConnection(t *testing.T) {
	p := Start(t)
	recovered := snapshot(t, p)
	limit := sshguard.DefaultLimits().MaxSessions
	c := rawClient(t, p.SSHAddr(), "127.0.0.7")
	open := func() (ssh.Channel, error) {
		ch, reqs, err := c.OpenChannel("session", nil)
		if err == nil {
			go ssh.DiscardRequests(reqs)
		}
		return ch, err
	}
	var chans []ssh.Channel
	for i := range limit {
		ch, err := open()
		if err != nil {
			t.Fatalf("session %d of %d: %v", i+1, limit, err)
		}
		chans = append(chans, ch)
	}
	for range 3 * limit {
		_, err := open()
		var oe *ssh.OpenChannelError
		if !errors.As(err, &oe) || oe.Reason != ssh.ResourceShortage {
			t.Fatalf("session past %d on one connection: %v, want resource shortage", limit, err)
		}
	}
	for range 3 * limit {
		if _, _, err := c.OpenChannel("direct-tcpip", nil); err == nil {
			t.Fatal("a direct-tcpip channel was accepted")
		}
	}
	// A closed session frees its place (once the server has seen the close).
	chans[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ch, err := open()
		if err == nil {
			chans[0] = ch
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a session after closing one: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	recovered()
}
