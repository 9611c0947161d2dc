package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// fit truncates s to w cells (ending in "…") and pads it to exactly w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-ansi.StringWidth(s))
}

// fitRight is fit with the text against the right edge (numbers).
func fitRight(s string, w int) string {
	if ansi.StringWidth(s) > w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-ansi.StringWidth(s)) + s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// narrow is the width below which screens switch to compact layouts, so
// that an 80-column terminal (76 inside the padding) shows every column.
const narrow = 100

// shortType drops the "customer." most Stripe event types start with, for
// compact layouts: customer.subscription.updated → subscription.updated. A
// customer's own events keep it (customer.updated, not a bare "updated").
func shortType(t string) string {
	if rest, ok := strings.CutPrefix(t, "customer."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return t
}

// wrapLines wraps s, which may hold styles, to w cells: at spaces where it
// can, inside a word where it must. Unlike ansi.Wrap alone it never breaks
// after a hyphen, which would split a date (2027-\n03-23) or an id, nor at
// a no-break space (nbsp), which joins a date to its time.
func wrapLines(s string, w int) []string {
	const nbHyphen = "\u2011" // one cell, like "-", and no breakpoint for ansi.Wrap
	s = strings.ReplaceAll(ansi.Wrap(strings.ReplaceAll(s, "-", nbHyphen), max(w, 1), ""), nbHyphen, "-")
	return strings.Split(strings.ReplaceAll(s, nbsp, " "), "\n")
}

// nbsp is a space wrapLines does not break at; it is drawn as a space.
const nbsp = "\u00a0"

func fmtDate(t time.Time) string { return fmtUTC(t, "2006-01-02") }

func fmtTime(t time.Time) string { return fmtUTC(t, "2006-01-02 15:04") }

func fmtStamp(t time.Time) string { return fmtUTC(t, "2006-01-02 15:04:05") }

// fmtShortStamp is fmtStamp without the year, for compact layouts.
func fmtShortStamp(t time.Time) string { return fmtUTC(t, "01-02 15:04:05") }

// fmtUTC is t in UTC in layout, or "-" for no time at all.
func fmtUTC(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(layout)
}

// fmtIn says how far t is from now: "in 2d 3h", "5h ago", "now".
func fmtIn(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now)
	if d > -time.Minute && d < time.Minute {
		return "now"
	}
	s := fmtSpan(d.Abs())
	if d < 0 {
		return s + " ago"
	}
	return "in " + s
}

// fmtSpan rounds d to its two largest units: "2d 3h", "4h 12m", "7m".
func fmtSpan(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	}
	return fmt.Sprintf("%dm", mins)
}

// spanWords says a clock step in words: "27 days", "1 hour", else fmtSpan.
func spanWords(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d > 0 && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return fmtSpan(d)
}

// fmtLatency shows a handler latency to a useful precision.
func fmtLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return d.Round(time.Second).String()
}

// fmtCount adds thousands separators: 100000 → "100,000".
func fmtCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + fmtCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural is "1 account", "2 accounts", "1,000 accounts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmtCount(n) + " " + noun + "s"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// stateLabel is the state as ops reads it, in words ("past due",
// "locked: unpaid", not the stored past_due and locked_unpaid), with the
// card and a pending payment spelled out where they change what it means.
func stateLabel(s store.State, hasCard, pending bool) string {
	l := strings.ReplaceAll(string(s), "_", " ")
	if rest, ok := strings.CutPrefix(l, "locked "); ok {
		l = "locked: " + rest
	}
	if s == store.StateNone {
		l = "none"
	}
	if s == store.StateTrial && !hasCard {
		l += " (no card)"
	}
	if pending {
		l += " +pending"
	}
	return l
}

// newInput returns the portal's safe text input (common.NewTextInput).
func newInput(prompt, placeholder string, limit int) common.TextInput {
	in := common.NewTextInput()
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.CharLimit = limit
	return in
}
