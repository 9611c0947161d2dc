package common

import (
	"slices"
	"testing"
)

func TestTabsFor(t *testing.T) {
	tabs := NewKeyMap().Tabs
	for _, tc := range []struct {
		n    int
		keys []string
		help string
	}{
		{5, []string{"tab", "shift+tab", "1", "2", "3", "4", "5"}, "1-5/tab"},
		{6, []string{"tab", "shift+tab", "1", "2", "3", "4", "5", "6"}, "1-6/tab"},
	} {
		b := TabsFor(tabs, tc.n)
		if !slices.Equal(b.Keys(), tc.keys) || b.Help().Key != tc.help || b.Help().Desc != "screens" {
			t.Errorf("TabsFor(%d) = %v %q %q, want %v %q screens", tc.n, b.Keys(), b.Help().Key, b.Help().Desc, tc.keys, tc.help)
		}
	}
	// A copy is reworded; the map's binding keeps all six digits.
	if got := tabs.Keys(); len(got) != 8 {
		t.Errorf("TabsFor changed the binding it was given: %v", got)
	}
}
