package sshserver

// maxPaste is the most of one bracketed paste handed to Bubble Tea. Its v1
// input reader scans its whole buffer for the paste's end marker on every
// read, so a paste that never ends cost CPU and memory growing with the
// square of its length (1 MiB: about 10 s of CPU). 64 KiB is far more than
// any field of the portal takes.
const maxPaste = 64 << 10

const (
	pasteStart = "\x1b[200~"
	pasteEnd   = "\x1b[201~"
)

// pasteBound ends a bracketed paste past maxPaste bytes, as if the client
// had sent its end marker there, and drops the rest of it up to the
// client's own end marker. A shorter paste passes unchanged. Markers may be
// split across reads; no byte is held back (a lone ESC is the esc key).
type pasteBound struct {
	max      int
	in       bool // inside a paste
	dropping bool // inside a paste already ended for Bubble Tea
	match    int  // bytes of the awaited marker (start, or end in a paste) seen
	n        int  // bytes of the current paste handed on
	out      []byte
}

// filter returns b as Bubble Tea is to read it. The result is valid until
// the next call.
func (pb *pasteBound) filter(b []byte) []byte {
	if pb.max == 0 {
		pb.max = maxPaste
	}
	out := pb.out[:0]
	for _, c := range b {
		if !pb.in {
			out = append(out, c)
			if pb.match = advance(pb.match, c, pasteStart); pb.match == len(pasteStart) {
				pb.in, pb.n, pb.match = true, 0, 0
			}
			continue
		}
		pb.match = advance(pb.match, c, pasteEnd)
		ended := pb.match == len(pasteEnd)
		if ended {
			pb.in, pb.match = false, 0
		}
		if pb.dropping {
			pb.dropping = !ended
			continue
		}
		out = append(out, c)
		if ended {
			continue
		}
		// Not in the middle of what may be the client's end marker, so the
		// paste does not end in a torn one.
		if pb.n++; pb.n >= pb.max && pb.match == 0 {
			out = append(out, pasteEnd...)
			pb.dropping = true
		}
	}
	pb.out = out
	return out
}

// advance returns how much of marker has been seen after c, given that
// matched bytes of it had been. ESC starts each marker and occurs nowhere
// else in it, so a mismatch restarts at c.
func advance(matched int, c byte, marker string) int {
	if c == marker[matched] {
		return matched + 1
	}
	if c == marker[0] {
		return 1
	}
	return 0
}
