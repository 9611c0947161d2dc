package common

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"
)

// helpSep is the separator between a help line's items, as help.Model
// draws it.
const helpSep = " • "

// NewHelp is the help model both roots draw their full help (and the ops
// root its short help) with, in st's Help style, as HelpView draws.
func NewHelp(st *Styles) help.Model {
	h := help.New()
	h.Styles.ShortKey = st.Help.Bold(true)
	h.Styles.ShortDesc = st.Help
	h.Styles.ShortSeparator = st.Help
	h.Styles.FullKey = st.Help.Bold(true)
	h.Styles.FullDesc = st.Help
	h.Styles.FullSeparator = st.Help
	h.Styles.Ellipsis = st.Help
	return h
}

// FitHelp picks the keys a one-line help of at most width columns shows:
// the screen's keys followed by tail when all fit; otherwise as many of the
// screen's leading keys as fit (a screen lists its keys most used first)
// followed by keep, the keys that must stay in view on any width (the full
// help and quit), so that no key is out of reach and the line never wraps
// or is cut. keep may name some of the screen's own keys (a way back):
// those move to keep's place instead of being dropped. keep is shown alone
// when nothing else fits. A width of zero or less means unlimited.
// Disabled bindings take no room.
func FitHelp(screen, tail, keep []key.Binding, width int) []key.Binding {
	all := append(screen[:len(screen):len(screen)], tail...)
	if width <= 0 || HelpWidth(all) <= width {
		return all
	}
	screen = without(screen, keep)
	for n := len(screen); n > 0; n-- {
		if bs := append(screen[:n:n], keep...); HelpWidth(bs) <= width {
			return bs
		}
	}
	return keep
}

// HelpView draws bs as help in st's Help style: "key desc" items, the key
// in bold, joined by " • ". A width above zero wraps between items onto
// more lines (never inside an item): the help of a text field or a dialog,
// which has no full help behind ?, so every key stays in view. Both roots
// draw it; a width of zero or less is one line (FitHelp's pick).
func HelpView(bs []key.Binding, width int, st *Styles) string {
	sep := st.Help.Render(helpSep)
	sepW := ansi.StringWidth(helpSep)
	var lines []string
	line, lineW := "", 0
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		item := st.Help.Bold(true).Render(b.Help().Key) + st.Help.Render(" "+b.Help().Desc)
		iw := ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc)
		switch {
		case lineW == 0:
			line, lineW = item, iw
		case width <= 0 || lineW+sepW+iw <= width:
			line, lineW = line+sep+item, lineW+sepW+iw
		default:
			lines = append(lines, line)
			line, lineW = item, iw
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// HelpWidth is the width in columns of the one-line help of bs: each
// enabled binding as "key desc", joined by " • ".
func HelpWidth(bs []key.Binding) int {
	w, n := 0, 0
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		if n > 0 {
			w += ansi.StringWidth(helpSep)
		}
		w += ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc)
		n++
	}
	return w
}

// without is bs less the bindings that keep shows (the same help words).
func without(bs, keep []key.Binding) []key.Binding {
	out := make([]key.Binding, 0, len(bs))
next:
	for _, b := range bs {
		for _, k := range keep {
			if b.Help() == k.Help() {
				continue next
			}
		}
		out = append(out, b)
	}
	return out
}
