package onclose

import (
	"net"
	"testing"
)

// A connection closed twice (the server, then its shutdown) gives its
// place back once.
func TestCloseRunsOnce(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	n := 0
	c := Conn(a, func() { n++ })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if n != 1 {
		t.Fatalf("f ran %d times, want 1", n)
	}
	if _, err := b.Write([]byte("x")); err == nil {
		t.Error("the wrapped connection is still open")
	}
}
