package tui

import (
	"strings"

	"rsc.io/qr"
)

// qrQuietZone is the light margin drawn around a QR code, in modules. The
// standard asks for 4; 2 keeps a code for a ~100-character link inside 24
// rows, and phone scanners read it reliably when the margin is drawn (on a
// dark terminal the surrounding background would otherwise touch the code).
const qrQuietZone = 2

// qrBlock is a QR code drawn with half-block characters: one character cell
// holds two modules stacked vertically, so the code stays square in a
// terminal whose cells are about twice as tall as they are wide.
type qrBlock struct {
	lines []string
	width int // columns (and modules per row)
}

// newQRBlock encodes text at error correction level L (terminal screens are
// clean, and L keeps the code small) and draws it. When fillLight is true the
// drawn glyphs are the light modules and the quiet zone: that is what shows
// correctly on a dark-background terminal in monochrome, where glyphs take
// the light foreground colour. When false, the glyphs are the dark modules,
// for a light background or when the caller paints black on white.
func newQRBlock(text string, fillLight bool) (qrBlock, error) {
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		return qrBlock{}, err
	}
	n := code.Size + 2*qrQuietZone
	// filled reports whether the module at (x, y) of the bordered grid gets
	// a glyph. Rows past the bottom edge (odd n) are drawn as background.
	filled := func(x, y int) bool {
		if y >= n {
			return false
		}
		dark := code.Black(x-qrQuietZone, y-qrQuietZone) // false in the quiet zone
		return dark != fillLight
	}
	var lines []string
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		b.Reset()
		for x := 0; x < n; x++ {
			top, bottom := filled(x, y), filled(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		lines = append(lines, b.String())
	}
	return qrBlock{lines: lines, width: n}, nil
}

// height is the number of terminal rows the code takes.
func (q qrBlock) height() int { return len(q.lines) }
