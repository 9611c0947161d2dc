// Package sshguard bounds what one SSH client can make the server spend:
// connections (in all, per source address, mid-handshake), sessions per
// connection, env requests and window changes per session.
//
// It also carries window sizes from the SSH layer to the terminal UI. The
// SSH library (charmbracelet/ssh, through at least v0.4.3, 2026-08; wish
// v2.0.3, 2026-07, builds on charm.land/ssh v0.4.2 and adds no guard) hands
// window changes to the session over a one-slot channel with a blocking
// send from the connection's request loop. Nobody reads that channel before
// the shell starts, nor after the program ends, so one window-change in
// either span blocks the loop for good; the loop's queue then fills, the
// connection's reader stalls and no deadline ever closes the socket. The
// guard therefore answers window changes itself, never passing them to the
// library, and keeps each session's latest size in a Window that the UI
// reads (WindowOf) at most Limits.ResizeRate times a second.
//
// Caveat: connections refused at accept are closed without a word; the
// SSH protocol has no message for "too many" before its version exchange,
// and OpenSSH refuses past MaxStartups the same way.
package sshguard

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/portal/portal/internal/onclose"
	gossh "golang.org/x/crypto/ssh"
)

// Limits are the bounds. Zero fields take the defaults documented on each.
type Limits struct {
	// MaxConns caps SSH connections open at once from all clients
	// (default 10,000). Past it, new connections are closed at accept.
	MaxConns int
	// MaxConnsPerAddr caps connections open at once from one source address
	// (an IPv6 client counts by its /64; default 100).
	MaxConnsPerAddr int
	// MaxHandshakes caps connections between accept and authentication
	// (default 64). Past it a connection waits for a slot, up to its
	// handshake timeout, rather than failing: after a restart thousands of
	// clients reconnect at once, and queueing them keeps the CPU bounded
	// without refusing any.
	MaxHandshakes int
	// HandshakeTimeout bounds the time from accept (including any wait for a
	// handshake slot) to the first session (default 30s).
	HandshakeTimeout time.Duration
	// MaxSessions caps session channels open at once on one connection
	// (default 10, as OpenSSH's MaxSessions).
	MaxSessions int
	// MaxEnvCount and MaxEnvBytes cap the env requests a session keeps
	// (defaults 64 and 16 KiB of names and values); past either, further
	// ones are refused and ignored, as sshd does for names not in AcceptEnv.
	MaxEnvCount int
	MaxEnvBytes int
	// ResizeRate is how many window changes a session's program receives a
	// second (default 10). Changes in between are coalesced: the latest
	// size always arrives, at most 1/ResizeRate late.
	ResizeRate float64

	Hooks Hooks
}

// Hooks let the embedding program count what the guard refuses (metrics).
// Nil fields are skipped. They are called synchronously: keep them cheap.
type Hooks struct {
	// Refused is called for each connection closed at accept; reason is
	// ReasonTotal or ReasonPerAddr.
	Refused func(reason string)
	// HandshakeFailed is called for each connection that closed before its
	// SSH handshake completed (bad protocol, timeout, no slot in time).
	HandshakeFailed func(err error)
	// SessionRefused is called for each session channel refused past
	// MaxSessions.
	SessionRefused func()
}

// Refusal reasons passed to Hooks.Refused.
const (
	ReasonTotal   = "total"
	ReasonPerAddr = "per-address"
)

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	var l Limits
	l.setDefaults()
	return l
}

func (l *Limits) setDefaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&l.MaxConns, 10_000)
	def(&l.MaxConnsPerAddr, 100)
	def(&l.MaxHandshakes, 64)
	def(&l.MaxSessions, 10)
	def(&l.MaxEnvCount, 64)
	def(&l.MaxEnvBytes, 16<<10)
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = 30 * time.Second
	}
	if l.ResizeRate <= 0 {
		l.ResizeRate = 10
	}
}

// Guard applies Limits to one SSH server.
type Guard struct {
	lim        Limits
	now        func() time.Time
	handshakes chan struct{} // a slot per connection not yet authenticating
	done       chan struct{}
	closeOnce  sync.Once

	mu      sync.Mutex
	total   int
	perAddr map[netip.Prefix]int
}

// New returns a guard for lim; now is the wall clock (nil: time.Now).
func New(lim Limits, now func() time.Time) *Guard {
	lim.setDefaults()
	if now == nil {
		now = time.Now
	}
	return &Guard{
		lim: lim, now: now,
		handshakes: make(chan struct{}, lim.MaxHandshakes),
		done:       make(chan struct{}),
		perAddr:    map[netip.Prefix]int{},
	}
}

// Limits returns the limits in force, defaults filled in.
func (g *Guard) Limits() Limits { return g.lim }

// Close wakes connections waiting for a handshake slot, which then close.
// Call it when the server shuts down.
func (g *Guard) Close() { g.closeOnce.Do(func() { close(g.done) }) }

// Options configures an ssh.Server: the handshake deadline and slot, the
// session handler that applies the per-session limits, and the hook for
// failed handshakes.
func (g *Guard) Options() []ssh.Option {
	return []ssh.Option{func(srv *ssh.Server) error {
		srv.ConnCallback = g.connCallback
		if srv.ChannelHandlers == nil {
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{}
		}
		srv.ChannelHandlers["session"] = g.sessionHandler
		srv.ConnectionFailedCallback = func(conn net.Conn, err error) {
			if h := g.lim.Hooks.HandshakeFailed; h != nil {
				h(err)
			}
		}
		return nil
	}}
}

// Authenticating frees the connection's handshake slot: the key exchange,
// the costly part, is over. Call it from the public-key handler.
func (g *Guard) Authenticating(ctx ssh.Context) {
	if cs, ok := ctx.Value(connKey{}).(*connState); ok {
		cs.hc.freeSlot()
	}
}

// Middleware must run first in the chain: a session has started, so the
// connection is past its handshake and its deadline is lifted.
func (g *Guard) Middleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(s ssh.Session) {
			if cs, ok := s.Context().Value(connKey{}).(*connState); ok {
				cs.hc.release()
			}
			next(s)
		}
	}
}

// Source is the key under which limits count the client at hostport (or
// a bare IP): its address, or for IPv6 its /64, which one client usually
// holds whole. Unparsable input shares the zero key.
func Source(hostport string) netip.Prefix {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// admit counts a new connection from key, or says why it may not open.
func (g *Guard) admit(key netip.Prefix) (reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.total >= g.lim.MaxConns:
		return ReasonTotal
	case g.perAddr[key] >= g.lim.MaxConnsPerAddr:
		return ReasonPerAddr
	}
	g.total++
	g.perAddr[key]++
	return ""
}

func (g *Guard) leave(key netip.Prefix) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.perAddr[key]--; g.perAddr[key] <= 0 {
		delete(g.perAddr, key)
	}
}

// Open returns the number of connections the guard counts as open.
func (g *Guard) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// Listener wraps ln so that connections past MaxConns or MaxConnsPerAddr
// are closed as soon as they are accepted.
func (g *Guard) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, g: g} }

type listener struct {
	net.Listener
	g *Guard
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := Source(c.RemoteAddr().String())
		if reason := l.g.admit(key); reason != "" {
			_ = c.Close()
			if h := l.g.lim.Hooks.Refused; h != nil {
				h(reason)
			}
			continue
		}
		return onclose.Conn(c, func() { l.g.leave(key) }), nil
	}
}

type connKey struct{}

// connState is what the guard keeps per connection.
type connState struct {
	hc *handshakeConn

	mu       sync.Mutex
	sessions int
	nextID   int
	windows  map[string]*Window // by session tag
}

func (g *Guard) connCallback(ctx ssh.Context, conn net.Conn) net.Conn {
	until := g.now().Add(g.lim.HandshakeTimeout)
	hc := &handshakeConn{Conn: conn}
	hc.until.Store(until.UnixNano())
	_ = conn.SetDeadline(until)
	t := time.NewTimer(until.Sub(g.now()))
	defer t.Stop()
	select {
	case g.handshakes <- struct{}{}:
	case <-t.C:
		if h := g.lim.Hooks.HandshakeFailed; h != nil {
			h(fmt.Errorf("no handshake slot within %v", g.lim.HandshakeTimeout))
		}
		return nil // the server closes conn
	case <-g.done:
		return nil
	}
	hc.slot = g.handshakes
	ctx.SetValue(connKey{}, &connState{hc: hc, windows: map[string]*Window{}})
	return hc
}

// handshakeConn caps every deadline the SSH library sets until the first
// session starts. The library resets the deadline on each read and write
// (to its idle timeout, or to none), which would otherwise lift ours.
type handshakeConn struct {
	net.Conn
	until    atomic.Int64 // unix nanos; 0 once a session has started
	slot     chan struct{}
	slotOnce sync.Once
}

func (c *handshakeConn) SetDeadline(t time.Time) error {
	if u := c.until.Load(); u != 0 {
		if limit := time.Unix(0, u); t.IsZero() || t.After(limit) {
			t = limit
		}
	}
	return c.Conn.SetDeadline(t)
}

// release lifts the cap; the library's own idle timeout applies from here.
func (c *handshakeConn) release() {
	c.freeSlot()
	if c.until.Swap(0) != 0 {
		_ = c.Conn.SetDeadline(time.Time{})
	}
}

func (c *handshakeConn) freeSlot() { c.slotOnce.Do(func() { <-c.slot }) }

func (c *handshakeConn) Close() error {
	c.freeSlot()
	return c.Conn.Close()
}

func (cs *connState) openSession(max int) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.sessions >= max {
		return false
	}
	cs.sessions++
	return true
}

func (cs *connState) closeSession() {
	cs.mu.Lock()
	cs.sessions--
	cs.mu.Unlock()
}

func (cs *connState) register(w *Window) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.nextID++
	tag := fmt.Sprint(cs.nextID)
	cs.windows[tag] = w
	return tag
}

func (cs *connState) unregister(tag string) {
	cs.mu.Lock()
	delete(cs.windows, tag)
	cs.mu.Unlock()
}

func (cs *connState) window(tag string) *Window {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.windows[tag]
}

// sessionHandler applies MaxSessions, then runs the library's session
// handler on a channel whose requests pass through the guard's filter.
func (g *Guard) sessionHandler(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	cs, ok := ctx.Value(connKey{}).(*connState)
	if !ok {
		_ = nc.Reject(gossh.ConnectionFailed, "internal error")
		return
	}
	if !cs.openSession(g.lim.MaxSessions) {
		_ = nc.Reject(gossh.ResourceShortage, fmt.Sprintf("too many sessions on one connection (at most %d)", g.lim.MaxSessions))
		if h := g.lim.Hooks.SessionRefused; h != nil {
			h()
		}
		return
	}
	defer cs.closeSession()
	ssh.DefaultSessionHandler(srv, conn, &guardedChannel{NewChannel: nc, g: g, cs: cs}, ctx)
}

type guardedChannel struct {
	gossh.NewChannel
	g  *Guard
	cs *connState
}

func (c *guardedChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	w := newWindow(c.g.lim.ResizeRate)
	tag := c.cs.register(w)
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		defer c.cs.unregister(tag)
		c.g.filter(tag, w, reqs, out)
	}()
	return ch, out, nil
}
