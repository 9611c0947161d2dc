package portaltest

import (
	"strings"
	"testing"
)

func TestRegisterThenHome(t *testing.T) {
	t.Parallel()
	p := Start(t)
	key := NewKey(t)
	s := p.Connect(t, key)
	s.WaitFor(t, "Email")
	s.Type("me@example.com", "enter")
	s.WaitFor(t, "me@example.com")
	s.WaitFor(t, "no plan yet")
	t.Log("\n" + s.Screen())
	s.Close()

	s = p.Connect(t, key)
	s.WaitFor(t, "me@example.com")
	if !strings.Contains(s.Screen(), "SHA256:") {
		t.Errorf("home does not show the key fingerprint:\n%s", s.Screen())
	}
}
