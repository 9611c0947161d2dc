package portaltest

import (
	"strings"
	"unicode/utf8"
)

// keySeqs maps the key names Type understands to the bytes an xterm sends.
// "ctrl+a" … "ctrl+z" are handled in keySeq.
var keySeqs = map[string]string{
	"enter":     "\r",
	"tab":       "\t",
	"shift+tab": "\x1b[Z",
	"esc":       "\x1b",
	"backspace": "\x7f",
	"delete":    "\x1b[3~",
	"space":     " ",
	"up":        "\x1b[A",
	"down":      "\x1b[B",
	"right":     "\x1b[C",
	"left":      "\x1b[D",
	"home":      "\x1b[H",
	"end":       "\x1b[F",
	"pgup":      "\x1b[5~",
	"pgdown":    "\x1b[6~",
	"f1":        "\x1bOP",
	"f2":        "\x1bOQ",
	"f3":        "\x1bOR",
	"f4":        "\x1bOS",
}

// keySeq returns the bytes for a named key.
func keySeq(name string) (string, bool) {
	if seq, ok := keySeqs[name]; ok {
		return seq, true
	}
	if c, ok := strings.CutPrefix(name, "ctrl+"); ok && len(c) == 1 && c[0] >= 'a' && c[0] <= 'z' {
		return string(rune(c[0] - 'a' + 1)), true
	}
	return "", false
}

// keyWrites splits Type's arguments into the byte strings to write, one per
// key: a named key is one write; any other string is one write per rune,
// and each byte of invalid UTF-8 is sent as it is, on its own.
func keyWrites(keys []string) []string {
	var out []string
	for _, k := range keys {
		if seq, ok := keySeq(k); ok {
			out = append(out, seq)
			continue
		}
		for len(k) > 0 {
			_, size := utf8.DecodeRuneInString(k)
			out = append(out, k[:size])
			k = k[size:]
		}
	}
	return out
}
