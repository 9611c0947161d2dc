package common

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"
)

// helpSep is the separator between a help line's items, as help.Model
// draws it.
const helpSep = " • "

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
