package sshguard

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func envReq(key, value string) *gossh.Request {
	return &gossh.Request{Type: "env", Payload: appendString(appendString(nil, key), value)}
}

func sizeReq(typ string, cols, rows uint32) *gossh.Request {
	var p []byte
	if typ == "pty-req" {
		p = appendString(p, "xterm")
	}
	p = binary.BigEndian.AppendUint32(p, cols)
	p = binary.BigEndian.AppendUint32(p, rows)
	p = append(p, make([]byte, 8)...)
	if typ == "pty-req" {
		p = appendString(p, "")
	}
	return &gossh.Request{Type: typ, Payload: p}
}

// The filter passes the library what it can handle without blocking, in
// order, and keeps the rest: window changes go to the Window, env requests
// past the limits and the guard's own tag from a client go nowhere.
func TestFilter(t *testing.T) {
	g := New(Limits{MaxEnvCount: 2, MaxEnvBytes: 10}, nil)
	w := newWindow(1000)
	in, out := make(chan *gossh.Request, 32), make(chan *gossh.Request, 32)
	for _, r := range []*gossh.Request{
		envReq(tagEnv, "99"),             // spoofed tag: dropped
		envReq("A", "1"),                 // kept
		envReq("LONG", "1234567"),        // past the bytes: dropped
		envReq("B", "2"),                 // kept
		envReq("C", "3"),                 // past the count: dropped
		sizeReq("window-change", 90, 30), // before the pty: refused, not passed
		sizeReq("pty-req", 80, 24),
		sizeReq("window-change", 100, 40),
		sizeReq("window-change", 5000, 5000), // clamped
		{Type: "shell"},
		envReq("D", "4"), // after the shell: dropped
	} {
		in <- r
	}
	close(in)
	g.filter("1", w, in, out)
	close(out)
	var got []string
	for r := range out {
		desc := r.Type
		if r.Type == "env" {
			k, rest, _ := parseString(r.Payload)
			v, _, _ := parseString(rest)
			desc += " " + string(k) + "=" + string(v)
		}
		got = append(got, desc)
	}
	want := []string{"env " + tagEnv + "=1", "env A=1", "env B=2", "pty-req", "shell"}
	if len(got) != len(want) {
		t.Fatalf("passed %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("passed %q, want %q", got, want)
		}
	}
	if c, r := w.cols, w.rows; c != maxCols || r != maxRows {
		t.Errorf("window %dx%d, want the clamp %dx%d", c, r, maxCols, maxRows)
	}
}

// Sizes set while the program is busy are merged: the program gets the
// latest, calls never overlap, and a storm costs a few calls, not one each.
func TestWindowMergesSizes(t *testing.T) {
	w := newWindow(20)
	w.set(80, 24)
	var (
		mu      sync.Mutex
		calls   int
		last    [2]int
		running bool
	)
	release := make(chan struct{})
	first := make(chan struct{})
	w.Notify(func(c, r int) {
		mu.Lock()
		if running {
			t.Error("overlapping calls")
		}
		running = true
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // the program is busy
		}
		mu.Lock()
		last, running = [2]int{c, r}, false
		mu.Unlock()
	})
	<-first
	for i := range 1000 {
		w.set(60+i%50, 20+i%10)
	}
	w.set(123, 45)
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done, n := last == [2]int{123, 45}, calls
		mu.Unlock()
		if done {
			if n > 3 {
				t.Errorf("%d calls for 1,001 sizes set while the program was busy", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the latest size never arrived; last %v after %d calls", last, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Stop()
}
