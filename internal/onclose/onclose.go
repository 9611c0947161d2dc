// Package onclose wraps a connection so that closing it runs a function
// once, however often it is closed: how a listener that counts connections
// gives a connection's place back. Imports nothing of ours.
package onclose

import (
	"net"
	"sync"
)

// Conn returns c whose Close runs f, the first time only, before closing c.
func Conn(c net.Conn, f func()) net.Conn { return &conn{Conn: c, f: f} }

type conn struct {
	net.Conn
	once sync.Once
	f    func()
}

func (c *conn) Close() error {
	c.once.Do(c.f)
	return c.Conn.Close()
}
