package common

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

func TestFitHelp(t *testing.T) {
	b := func(k, d string) key.Binding { return key.NewBinding(key.WithKeys(k), key.WithHelp(k, d)) }
	card, plan, cancel, back := b("c", "card"), b("p", "plan"), b("x", "cancel"), b("esc", "back")
	off := b("z", "off")
	off.SetEnabled(false)
	help, quit, more := b("?", "help"), b("q", "quit"), b("?", "more")
	words := func(bs []key.Binding) string {
		var s []string
		for _, b := range bs {
			if b.Enabled() {
				s = append(s, b.Help().Key+" "+b.Help().Desc)
			}
		}
		return strings.Join(s, " • ")
	}
	for _, tc := range []struct {
		name         string
		screen, keep []key.Binding
		width        int
		want         string
	}{
		{"all fit", []key.Binding{card, plan, cancel}, []key.Binding{help, quit}, 80, "c card • p plan • x cancel • ? help • q quit"},
		{"unlimited", []key.Binding{card, plan, cancel}, []key.Binding{help, quit}, 0, "c card • p plan • x cancel • ? help • q quit"},
		{"exactly fits", []key.Binding{card, plan, cancel}, []key.Binding{help, quit}, 44, "c card • p plan • x cancel • ? help • q quit"},
		{"drops the last keys", []key.Binding{card, plan, cancel}, []key.Binding{help, quit}, 43, "c card • p plan • ? help • q quit"},
		{"disabled takes no room", []key.Binding{card, off, plan, cancel}, []key.Binding{help, quit}, 44, "c card • p plan • x cancel • ? help • q quit"},
		{"keep alone", []key.Binding{card, plan}, []key.Binding{help, quit}, 5, "? help • q quit"},
		{"keep names a screen key", []key.Binding{card, plan, back}, []key.Binding{back, help, quit}, 40, "c card • esc back • ? help • q quit"},
		{"different keep", []key.Binding{card, plan, cancel}, []key.Binding{more, quit}, 30, "c card • ? more • q quit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tail := []key.Binding{help, quit}
			got := FitHelp(tc.screen, tail, tc.keep, tc.width)
			if w := words(got); w != tc.want {
				t.Errorf("FitHelp(width %d) = %q, want %q", tc.width, w, tc.want)
			}
			if tc.width > 0 && len(got) > len(tc.keep) && HelpWidth(got) > tc.width {
				t.Errorf("width %d > %d", HelpWidth(got), tc.width)
			}
		})
	}
}

// TestHelpView: the help of a text field or a dialog keeps every key,
// wrapping between items (never inside one) when the width runs out.
func TestHelpView(t *testing.T) {
	b := func(k, d string) key.Binding { return key.NewBinding(key.WithKeys(k), key.WithHelp(k, d)) }
	off := b("z", "off")
	off.SetEnabled(false)
	bs := []key.Binding{b("enter", "save"), off, b("esc", "back"), b("ctrl+c", "quit")}
	st := NewStyles(lipgloss.NewRenderer(io.Discard)) // no colour: plain text
	for _, tc := range []struct {
		width int
		want  string
	}{
		{0, "enter save • esc back • ctrl+c quit"},
		{35, "enter save • esc back • ctrl+c quit"},
		{34, "enter save • esc back\nctrl+c quit"},
		{5, "enter save\nesc back\nctrl+c quit"},
	} {
		if got := HelpView(bs, tc.width, st); got != tc.want {
			t.Errorf("HelpView(width %d) = %q, want %q", tc.width, got, tc.want)
		}
	}
}
