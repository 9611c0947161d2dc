package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/store"
)

// Golden tests: each ops screen at a fixed size and clock, in plain ASCII.
// go test ./tui/ops -run Golden -update rewrites testdata/*.golden.

func goldenFixture(t *testing.T, withClock bool) (*fixture, map[string]string) {
	t.Helper()
	f := newFixture(t, withClock)
	ids := seed(t, f)
	f.load(t)
	return f, ids
}

// One screen each, pinned at a size: the tab or detail the keys lead to.
func TestGoldenScreens(t *testing.T) {
	for _, tc := range []struct {
		name          string
		clock         bool
		width, height int
		keys          []string
		// want is a line the view must hold besides matching the golden.
		want string
	}{
		{name: "accounts", clock: true, width: 140, height: 24},
		{name: "accounts_narrow", width: 96, height: 20},
		// State filter: none → free → trial; sort by trial end (3 × right),
		// descending; search ".org".
		{name: "accounts_filtered", width: 140, height: 24,
			keys: []string{"s", "s", "s", "right", "right", "right", "r", "/", ".org", "enter", "down"}},
		{name: "detail", width: 140, height: 48, keys: []string{"/", "alice", "enter", "enter"}},
		{name: "detail_confirm", width: 140, height: 40, keys: []string{"/", "alice", "enter", "enter", "e", "14", "enter"},
			want: "Extend the trial of alice@example.com by 14 days"},
		{name: "detail_plan_picker", width: 140, height: 40, keys: []string{"/", "bob", "enter", "enter", "p", "down"}},
		{name: "summary", clock: true, width: 120, height: 36, keys: []string{"2"}},
		{name: "webhooks", clock: true, width: 140, height: 30, keys: []string{"3"}},
		{name: "too_small", width: 60, height: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := goldenFixture(t, tc.clock)
			d := f.drive(t, tc.width, tc.height)
			d.keys(tc.keys...)
			v := d.view()
			if !strings.Contains(v, tc.want) {
				t.Fatalf("view lacks %q:\n%s", tc.want, v)
			}
			golden(t, tc.name, v)
		})
	}
}

func TestGoldenClock(t *testing.T) {
	f, _ := goldenFixture(t, true)
	d := f.drive(t, 120, 24)
	d.keys("4", "d")
	golden(t, "clock_confirm", d.view())
	d.keys("y")
	golden(t, "clock", d.view())
}

// Every ops screen at 80×24, the smallest terminal an admin is likely to
// have: no line runs past the edge, and what each screen is for is not cut
// (the webhook log's latency and the failed event's error, the summary's
// notes, the whole confirmation prompt, the keys to the full help and quit).
func TestGolden80x24(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		want []string
	}{
		{"accounts", nil, []string{"judy@example.net", "Trial end", "? more • q quit"}},
		{"detail", []string{"/", "alice", "enter", "enter"}, []string{"sub_Alice00000001", "added 2026-03-10", "? more • q quit"}},
		{"detail_confirm", []string{"/", "alice", "enter", "enter", "e", "14", "enter"}, []string{"paused)?"}},
		{"detail_plan_picker", []string{"/", "bob", "enter", "enter", "p", "down"}, []string{"XXL $199.00/month"}},
		{"summary", []string{"2"}, []string{"3 still in trial", "not the trial's $0 one", "at catalog prices", "at risk: $79.00"}},
		{"webhooks", []string{"3"}, []string{"1500ms", "error: store: database not open", " 7ms ", "? more • q quit"}},
		{"clock_confirm", []string{"4", "d"}, []string{"It never goes back."}},
		{"audit", []string{"5"}, []string{"extend_trial days=2", "advance_clock by=24h0m0s", "frank@example.org", "q quit"}},
		{"accounts_by_plan", []string{"right"}, []string{"Plan ^"}},
		{"accounts_by_card", []string{"left", "left", "left", "left"}, []string{"Card ^"}},
		{"accounts_no_plan", []string{"p"}, []string{"Plan: none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := goldenFixture(t, true)
			d := f.drive(t, 80, 24)
			d.keys(tc.keys...)
			v := d.view()
			for i, l := range strings.Split(v, "\n") {
				if w := lipgloss.Width(l); w > 80 {
					t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
				}
			}
			shows(t, v, tc.want, nil)
			golden(t, "80x24_"+tc.name, v)
		})
	}
}

// An ignored event's reason is not labelled an error, and a customer's own
// event keeps its "customer." in the compact log (not a bare "updated").
func TestGoldenWebhooksIgnoredReason(t *testing.T) {
	f, ids := goldenFixture(t, true)
	if err := f.db.RecordEvent(store.Event{ID: "evt_100", Type: "customer.updated", ReceivedAt: testNow, AccountID: ids["bob"],
		Status: store.EventStatusIgnored, Error: "event type not handled", Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	d := f.drive(t, 80, 24)
	d.keys("3")
	v := d.view()
	shows(t, v, []string{"> 03-10 12:00:00 customer.updated ", "ignored: event type not handled"}, nil)
	if strings.Contains(v, "error: event type not handled") {
		t.Errorf("an ignored event's reason shown as an error:\n%s", v)
	}
	// r retries only a failed event: offered on the failed one, not here.
	if strings.Contains(v, "retry failed") {
		t.Errorf("retry offered on an ignored event:\n%s", v)
	}
	d.keys("down")
	if v := d.view(); !strings.Contains(v, "r retry failed") {
		t.Errorf("retry not offered on the failed event:\n%s", v)
	}
	golden(t, "80x24_webhooks_ignored", v)
}
