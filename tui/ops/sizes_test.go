package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

// The "Ops view" items at the terminal sizes it was tried at,
// 100×30 and 80×24: each screen fits, and what each item promised shows
// (golden files <w>x<h>_<step>). Below 80×16 the view says what it needs.
func TestOpsViewItemsAtSizes(t *testing.T) {
	steps := []struct {
		name string
		keys []string
		want []string
		not  []string
	}{
		// States read as words.
		{"accounts", nil, []string{"alice@example.com", "q quit"}, []string{"locked_trial_ended", "past_due"}},
		// An applied search is cleared by esc.
		{"search_cleared", []string{"/", "alice", "enter", "esc"}, []string{"alice@example.com", "bob@example.com"}, nil},
		// Account detail says which clock its times are on.
		{"detail", []string{"/", "alice", "enter", "enter"}, []string{"sub_Alice00000001", "Trial end, period end and next invoice are on the sandbox"}, nil},
		{"detail_scrolled", []string{"/", "alice", "enter", "enter", "down", "down", "down"}, []string{"2026-03-10 12:00);", "wall clock."}, nil},
		// Enter on a webhook row opens its detail.
		{"webhook_detail", []string{"3", "down", "enter"}, []string{"Event evt_", "Outcome", "Received"}, nil},
		// The clock's status line stays on the clock tab.
		{"clock_moved", []string{"4", "d", "y"}, []string{"Sandbox clock is now 2026-03-11 12:00:00 UTC."}, nil},
		{"clock_status_left_behind", []string{"4", "d", "y", "2"}, []string{"[2 Summary]"}, []string{"Sandbox clock is now"}},
		// The global audit tab, changed fields before → after, whole.
		{"audit", []string{"5"}, []string{"advance_clock by=24h0m0s", "trial_end=2026-03-10T12:00:00Z→2026-03-12T12:00:00Z",
			"state=trial→locked_trial_ended"}, nil},
		// The mail outbox, with re-send.
		{"mail_failed", []string{"6", "down", "down", "down"}, []string{"Outbox: 1 queued, 1 retrying, 1 failed", "> FAILED",
			"r re-send", "last error: smtp: connection refused"}, nil},
		{"mail_resent", []string{"6", "down", "down", "down", "r", "y"}, []string{"trial_will_end notice queued again",
			"Outbox: 2 queued, 1 retrying, 0 failed"}, nil},
	}
	for _, size := range []struct{ w, h int }{{100, 30}, {80, 24}} {
		for _, st := range steps {
			t.Run(fmt.Sprintf("%dx%d_%s", size.w, size.h, st.name), func(t *testing.T) {
				f, _ := mailFixture(t)
				d := f.drive(t, size.w, size.h)
				d.keys(st.keys...)
				v := d.view()
				lines := strings.Split(v, "\n")
				if len(lines) > size.h {
					t.Errorf("%d lines, more than the terminal's %d", len(lines), size.h)
				}
				for i, l := range lines {
					if w := lipgloss.Width(l); w > size.w {
						t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
					}
				}
				shows(t, v, st.want, st.not)
				golden(t, fmt.Sprintf("%dx%d_%s", size.w, size.h, st.name), v)
			})
		}
	}
	t.Run("50x15", func(t *testing.T) {
		f, _ := mailFixture(t)
		d := f.drive(t, 50, 15)
		d.keys("6")
		v := d.view()
		if !strings.Contains(v, "Terminal too small (50×15).") || !strings.Contains(v, "needs at least 80×16") {
			t.Errorf("at 50×15:\n%s", v)
		}
		for i, l := range strings.Split(v, "\n") {
			if w := lipgloss.Width(l); w > 50 {
				t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
			}
		}
		golden(t, "50x15_too_small", v)
	})
}
