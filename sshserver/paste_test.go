package sshserver

import (
	"strings"
	"testing"
)

func TestPasteBound(t *testing.T) {
	const s, e = pasteStart, pasteEnd
	tests := []struct {
		name, in, want string
	}{
		{"keys", "abc\x1b[Ax", "abc\x1b[Ax"},
		{"lone esc", "\x1b", "\x1b"},
		{"paste within the limit", "a" + s + "0123456789" + e + "b", "a" + s + "0123456789" + e + "b"},
		{"two pastes", s + "01234" + e + s + "56789" + e, s + "01234" + e + s + "56789" + e},
		{"escapes inside a paste", s + "\x1b[A\x1b[20" + e + "z", s + "\x1b[A\x1b[20" + e + "z"},
		{"paste past the limit", s + "0123456789abcdef" + e + "z", s + "0123456789" + e + "z"},
		{"paste that never ends", s + strings.Repeat("x", 1000), s + "xxxxxxxxxx" + e},
		{"end marker dropped with the rest", s + "0123456789" + "\x1b[201" + e + "z", s + "0123456789" + e + "z"},
		{"no cut inside the client's end marker", s + "012345678\x1b[201~z", s + "012345678\x1b[201~z"},
		{"cut waits past a torn marker", s + "012345678\x1b[20xyz" + e, s + "012345678\x1b[20x" + e},
		{"a paste after a cut one", s + strings.Repeat("x", 20) + e + s + "short" + e, s + "xxxxxxxxxx" + e + s + "short" + e},
		{"end marker without a paste", e + "z", e + "z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, cut in two at every place, and a byte at a time: markers
			// split across reads are still seen.
			feeds := [][]string{{tt.in}}
			for i := 1; i < len(tt.in); i++ {
				feeds = append(feeds, []string{tt.in[:i], tt.in[i:]})
			}
			feeds = append(feeds, strings.Split(tt.in, ""))
			for _, feed := range feeds {
				pb := pasteBound{max: 10}
				var got strings.Builder
				for _, part := range feed {
					got.Write(pb.filter([]byte(part)))
				}
				if got.String() != tt.want {
					t.Fatalf("reads %q: got %q, want %q", feed, got.String(), tt.want)
				}
			}
		})
	}
}

// Through Bubble Tea: a paste within the limit arrives whole as one paste;
// one that never ends arrives as one paste of maxPaste bytes without its
// end, and keys after the client's end marker arrive as keys.
func TestPasteBoundThroughBubbleTea(t *testing.T) {
	write, got := runRecorder(t, false)
	short := strings.Repeat("s", maxPaste-1)
	write(pasteStart + short + pasteEnd)
	waitKeys(t, got, []string{"paste:" + short})

	write(pasteStart + strings.Repeat("x", maxPaste+20<<10))
	want := []string{"paste:" + short, "paste:" + strings.Repeat("x", maxPaste)}
	waitKeys(t, got, want)
	write(strings.Repeat("x", 10<<10) + "still pasted" + pasteEnd + "q")
	waitKeys(t, got, append(want, "q"))
}
