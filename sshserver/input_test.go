package sshserver

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// A flood of input is read no faster than the cap, all of it, in order.
// (A lower bound on time only: a slow machine cannot make it fail.)
func TestInputReaderCapsRate(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 512) // 8 KiB
	in := newInputReader(context.Background(), bytes.NewReader(data), 16<<10)
	start := time.Now()
	var got bytes.Buffer
	buf := make([]byte, 256) // Bubble Tea's read size
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{in}, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("input changed on the way through")
	}
	// 16 KiB of burst covers it all: no wait.
	if in.last().Before(start) {
		t.Error("last input time not recorded")
	}

	flood := bytes.Repeat([]byte{'x'}, 48<<10)
	in = newInputReader(context.Background(), bytes.NewReader(flood), 16<<10)
	start = time.Now()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{in}, buf)
	if err != nil || n != int64(len(flood)) {
		t.Fatalf("read %d, %v; want all %d bytes", n, err, len(flood))
	}
	// 48 KiB at 16 KiB/s with a 16 KiB burst: at least 2 s.
	if el := time.Since(start); el < 1900*time.Millisecond {
		t.Errorf("48 KiB read in %v at a 16 KiB/s cap", el)
	}
}

// A session that ends while its input is held back is not kept waiting.
func TestInputReaderStopsWithSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := newInputReader(ctx, bytes.NewReader(bytes.Repeat([]byte{'x'}, 8<<10)), 1024)
	buf := make([]byte, 256)
	for range 4 { // spend the burst
		if _, err := in.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	done := make(chan struct{})
	go func() { _, _ = io.CopyBuffer(io.Discard, struct{ io.Reader }{in}, buf); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reader still throttling a closed session")
	}
}
