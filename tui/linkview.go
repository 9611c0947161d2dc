package tui

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/portal/portal/tui/common"
)

// linkView shows a hosted Stripe page's address three ways: as plain text
// (copyable; broken only at the window's edge, never at a word boundary or
// with an indent, so the pieces join back into the address), as an OSC 8
// hyperlink on every piece, and as a QR code to scan with a phone.
//
// Bubble Tea's renderer cuts lines at the window's width instead of letting
// the terminal wrap them, so a long address is split at exactly the content
// width, which is what the terminal's own wrapping would have done.
type linkView struct {
	e      *env
	url    string
	qr     qrBlock
	qrOK   bool
	showQR bool // the QR code alone, on the whole window
}

// newLinkView draws url and offers qr, the screen's key to the code alone,
// only when the code could be made.
func newLinkView(e *env, url string, qr *key.Binding) linkView {
	l := linkView{e: e, url: url}
	// Monochrome glyphs take the terminal's foreground colour: on a dark
	// background they must be the light modules. With colour the code is
	// painted black on white, right for any background.
	fillLight := e.renderer.ColorProfile() == termenv.Ascii && e.renderer.HasDarkBackground()
	q, err := newQRBlock(url, fillLight)
	if err != nil {
		e.Logger.Warn("qr code", "err", err)
	} else {
		l.qr, l.qrOK = q, true
	}
	qr.SetEnabled(l.qrOK)
	return l
}

// FullScreen and LeaveFullScreen make a screen that embeds the view a
// fullScreen: the code alone takes the window, drawn by fullView.
func (l *linkView) FullScreen() bool { return l.showQR }
func (l *linkView) LeaveFullScreen() { l.showQR = false }

// linkKeys answers the keys every link screen shares: qr shows the code
// alone, qr or back hides it again, and back otherwise leaves the screen
// (e is the screen's: the view's is nil before the link arrives). It
// reports whether it took msg.
func (l *linkView) linkKeys(e *env, msg tea.KeyMsg, qr, back key.Binding) (tea.Cmd, bool) {
	switch {
	case l.showQR && (key.Matches(msg, qr) || key.Matches(msg, back)):
		l.showQR = false
	case key.Matches(msg, qr):
		l.showQR = true
	case key.Matches(msg, back):
		return e.back(), true
	default:
		return nil, false
	}
	return nil, true
}

// urlText is the address split into lines of at most w cells, each piece
// an OSC 8 link to the whole address (one id, so terminals treat the
// pieces as one link).
func (l linkView) urlText(w int) string {
	h := fnv.New32a()
	h.Write([]byte(l.url))
	id := fmt.Sprintf("id=portal-%08x", h.Sum32())
	var out []string
	for rest := l.url; rest != ""; {
		n := min(len(rest), max(w, 1))
		piece := rest[:n]
		rest = rest[n:]
		if l.e.hyperlinks {
			piece = ansi.SetHyperlink(l.url, id) + piece + ansi.ResetHyperlink()
		}
		out = append(out, piece)
	}
	return strings.Join(out, "\n")
}

// qrLines is the QR code, painted black on white when the terminal has
// colour.
func (l linkView) qrLines() []string {
	if l.e.renderer.ColorProfile() == termenv.Ascii {
		return l.qr.lines
	}
	st := l.e.renderer.NewStyle().Foreground(lipgloss.Color("#000000")).Background(lipgloss.Color("#FFFFFF"))
	out := make([]string, len(l.qr.lines))
	for i, line := range l.qr.lines {
		out[i] = st.Render(line)
	}
	return out
}

// contentHeight is the number of lines a framed screen can use.
func (e *env) contentHeight() int {
	h := e.Height
	if h <= 0 {
		h = 24
	}
	return h - 2*framePadY - frameFooter - 1
}

// compose lays out a link screen: head (title, text, the address), then
// the QR code with side (status lines) beside it when the window is wide
// enough, or under it when it is tall enough, or else side alone and a hint
// that v shows the code by itself. It reports whether the code was drawn.
func (l linkView) compose(head, side []string) (string, bool) {
	w, room := l.e.contentWidth(), l.e.contentHeight()
	headText := strings.Join(head, "\n")
	headH := lipgloss.Height(headText)
	sideText := strings.Join(side, "\n")
	if l.qrOK {
		if sw := w - l.qr.width - 3; sw >= 24 {
			wrapped := wrap(sideText, sw)
			if headH+1+max(l.qr.height(), lipgloss.Height(wrapped)) <= room {
				col := lipgloss.JoinHorizontal(lipgloss.Top, strings.Join(l.qrLines(), "\n"), "   ", wrapped)
				return headText + "\n\n" + trimLines(col), true
			}
		}
		wrapped := wrap(sideText, w)
		if l.qr.width <= w && headH+1+l.qr.height()+1+lipgloss.Height(wrapped) <= room {
			return headText + "\n\n" + strings.Join(l.qrLines(), "\n") + "\n\n" + wrapped, true
		}
	}
	return headText + "\n\n" + wrap(sideText, w), false
}

// composeHinted is compose with, when the code could be drawn but did not
// fit, a last line saying that v shows it alone.
func (l linkView) composeHinted(head, side []string) string {
	body, drawn := l.compose(head, side)
	if !drawn && l.qrOK {
		body += "\n" + l.e.Styles.Subtle.Render("Press v for a QR code to scan with your phone.")
	}
	return body
}

// linkFailed is a link screen whose link could not be made: the title,
// the reason and the way on.
func linkFailed(s *common.Styles, title, reason string, w int) string {
	return title + "\n\n" + s.Error.Render(wrapHanging("✗ "+reason, w, 2)) + "\n\n" +
		s.Subtle.Render("Press n to try again, esc to go back.")
}

// fullView is the QR code alone with one line under it, for a window too
// small to show it with the rest; or what size the window needs. The line
// under it is shortened rather than cut when the window is narrow.
func (l linkView) fullView() string {
	s := l.e.Styles
	w := l.e.Width
	if w <= 0 {
		w = 80
	}
	if !l.qrOK {
		return wrap("This link cannot be drawn as a QR code. Press v or esc to go back.", w)
	}
	if l.e.Width > 0 && (l.qr.width > l.e.Width || l.qr.height()+2 > l.e.Height) {
		return wrap(fmt.Sprintf("Make the window at least %d×%d to show the QR code. Press v or esc to go back.",
			l.qr.width, l.qr.height()+2), w)
	}
	foot := "Scan with your phone's camera · v or esc to go back"
	if ansi.StringWidth(foot)+framePadX > w {
		foot = "v or esc: back"
	}
	if ansi.StringWidth(foot)+framePadX <= w {
		foot = strings.Repeat(" ", framePadX) + foot // indented like every other screen's text
	}
	return strings.Join(l.qrLines(), "\n") + "\n\n" + s.Subtle.Render(foot)
}

// trimLines removes the trailing spaces lipgloss pads joined blocks with.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		lines[i] = strings.TrimRight(line, " ")
	}
	return strings.Join(lines, "\n")
}
