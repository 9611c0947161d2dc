package tui

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// decodeDrawnQR finds the half-block QR code in a rendered screen, paints it
// as a phone camera would see it and decodes it with zxing. fillLight says
// what the glyphs are: light modules (monochrome on a dark terminal, where
// the surrounding background is dark) or dark modules (on a light
// background, or black on white).
func decodeDrawnQR(tb testing.TB, screen string, fillLight bool) string {
	tb.Helper()
	// Collect the block-character run of each line that has one; the code's
	// rows are the consecutive lines containing half blocks.
	var rows []string
	left := -1
	for _, line := range strings.Split(ansi.Strip(screen), "\n") {
		cells := []rune(line)
		start := -1
		for i, r := range cells {
			if r == '█' || r == '▀' || r == '▄' {
				start = i
				break
			}
		}
		if start < 0 {
			if len(rows) > 0 {
				break
			}
			continue
		}
		if left < 0 || start < left {
			left = start
		}
		rows = append(rows, line)
	}
	if len(rows) == 0 {
		tb.Fatalf("no QR code drawn in:\n%s", screen)
	}
	width := 0
	grid := make([][]rune, len(rows))
	for i, line := range rows {
		cells := []rune(line)
		end := len(cells)
		for end > left && !isBlock(cells[end-1]) {
			end--
		}
		grid[i] = cells[left:end]
		width = max(width, end-left)
	}

	const scale, margin = 6, 12 // pixels per module; border of terminal background
	bg, fg := color.Gray{Y: 0xFF}, color.Gray{Y: 0x00}
	if fillLight {
		bg, fg = fg, bg
	}
	img := image.NewGray(image.Rect(0, 0, width*scale+2*margin, 2*len(grid)*scale+2*margin))
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			img.SetGray(x, y, bg)
		}
	}
	paint := func(mx, my int) {
		for dy := range scale {
			for dx := range scale {
				img.SetGray(margin+mx*scale+dx, margin+my*scale+dy, fg)
			}
		}
	}
	for row, cells := range grid {
		for x, r := range cells {
			if r == '█' || r == '▀' {
				paint(x, 2*row)
			}
			if r == '█' || r == '▄' {
				paint(x, 2*row+1)
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		tb.Fatalf("drawn QR code does not decode: %v\n%s", err, strings.Join(rows, "\n"))
	}
	return res.GetText()
}

func isBlock(r rune) bool { return r == '█' || r == '▀' || r == '▄' }

func TestQRBlockDecodes(t *testing.T) {
	urls := []string{
		"http://127.0.0.1:8080/sandbox/checkout/cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ012345",
		"https://checkout.stripe.com/c/pay/cs_test_b1Qp5yV2kPZ2Z9kJj3Q5n8Qh3P1ZkXWq2mG9vH4t1R7bQ0aD2eF#" +
			"fidkdWxOYHwnPyd1blpxYHZxWjA0SDJmS0JQVnV0T2dXNVNVYE9ob3RGNWZOUUl9TjFAXGJWYzJsZ2xGc1BhMnA9PHR9" +
			"cU5CNTdgcD1yYHxsZHNkZU1iNk9tPWNsNXxBdmN8VmFGT2RENTU2XEtxM2AySyd4JSUl",
	}
	for _, u := range urls {
		for _, fillLight := range []bool{true, false} {
			q, err := newQRBlock(u, fillLight)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeDrawnQR(t, strings.Join(q.lines, "\n"), fillLight); got != u {
				t.Errorf("fillLight=%v: decoded %q, want %q", fillLight, got, u)
			}
			if q.height() != (q.width+1)/2 {
				t.Errorf("height %d for width %d", q.height(), q.width)
			}
		}
	}
}

// Short links carry a 26-character token (130 bits, billing's tokenLen):
// the QR code of one on localhost stays version 3, as 10 characters made
// it (33x17 cells with the quiet zone); a typical public URL makes version 4.
func TestShortLinkQRIsSmall(t *testing.T) {
	for _, c := range []struct {
		url   string
		width int // modules plus the quiet zone
	}{
		{"http://localhost:8080/l/abcdefghijklmnopqrstuvwxyz", 29 + 2*qrQuietZone},
		{"https://portal.example.com/l/abcdefghijklmnopqrstuvwxyz", 33 + 2*qrQuietZone},
	} {
		q, err := newQRBlock(c.url, true)
		if err != nil {
			t.Fatal(err)
		}
		if q.width > c.width {
			t.Errorf("%s: %d cells wide, want at most %d", c.url, q.width, c.width)
		}
		if got := decodeDrawnQR(t, strings.Join(q.lines, "\n"), true); got != c.url {
			t.Errorf("decoded %q, want %q", got, c.url)
		}
	}
}
