package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/portal/portal/billing"
)

// README's table of the events the portal handles names exactly the types
// stripe-setup subscribes the endpoint to (billing.HandledEvents), which
// billing's TestHandledEventsAreDispatched ties to the handlers. In a row,
// ".name" continues the type before it (`customer.subscription.created`,
// `.updated` is customer.subscription.updated).
func TestREADMEEventsTable(t *testing.T) {
	readme := readFile(t, "README.md")
	_, section, ok := strings.Cut(string(readme), "### Events the portal handles")
	if !ok {
		t.Fatal("README has no \"Events the portal handles\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	code := regexp.MustCompile("`([a-z_.]+)`")
	var listed []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		prefix := ""
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			name := m[1]
			if strings.HasPrefix(name, ".") {
				name = prefix + name[1:]
			} else if i := strings.LastIndex(name, "."); i >= 0 {
				prefix = name[:i+1]
			}
			listed = append(listed, name)
		}
	}
	want := slices.Clone(billing.HandledEvents)
	slices.Sort(want)
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		for _, e := range listed {
			if !slices.Contains(want, e) {
				t.Errorf("README lists %s, which stripe-setup does not subscribe", e)
			}
		}
		for _, e := range want {
			if !slices.Contains(listed, e) {
				t.Errorf("stripe-setup subscribes %s, which README's table does not list", e)
			}
		}
	}
}
