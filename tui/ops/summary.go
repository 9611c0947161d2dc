package ops

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// endingSoon is how far ahead "trials ending soon" looks: the window of
// Stripe's trial_will_end notice.
const endingSoon = 3 * 24 * time.Hour

// summary is the business at a glance, computed from the accounts index.
type summary struct {
	loaded   bool
	accounts int
	byState  map[stateKey]int

	// Trials ending within endingSoon that have no card, soonest first.
	ending []row

	// Trial → paid: of the accounts that ever started a trial, how many
	// have paid since (store.Account.ConvertedAt, set by billing), whatever
	// they do now; inTrial of them
	// are still in it.
	trialed   int
	inTrial   int
	converted int

	// Monthly recurring revenue by currency from active and canceling paid
	// plans past their trial, at catalog prices; past due apart, as at risk.
	mrr      map[string]int64
	paying   int
	atRisk   map[string]int64
	pastDue  int
	unpriced int // paying accounts whose plan is not in the catalog
}

// stateKey splits the trial state by card, as the access table does.
type stateKey struct {
	state  store.State
	noCard bool
}

func (k stateKey) label() string { return stateLabel(k.state, !k.noCard, false) }

// paid reports whether a row is a paying customer now: on a paid state with
// its trial behind it.
func paid(r *row, now time.Time) bool {
	return (r.state == store.StateActive || r.state == store.StateCanceling) && !r.trialEnd.After(now)
}

func (o *Ops) summarize(now time.Time) summary {
	s := summary{byState: map[stateKey]int{}, mrr: map[string]int64{}, atRisk: map[string]int64{}}
	cat := o.cfg.Catalog
	s.loaded = o.idx.each(func(r *row) {
		s.accounts++
		s.byState[stateKey{r.state, r.state == store.StateTrial && !r.hasCard}]++
		if r.state == store.StateTrial && !r.hasCard && !r.trialEnd.Before(now) && r.trialEnd.Sub(now) <= endingSoon {
			s.ending = append(s.ending, *r)
		}
		if r.trialUsed {
			s.trialed++
			if r.state == store.StateTrial {
				s.inTrial++
			}
			if r.converted {
				s.converted++
			}
		}
		switch {
		case paid(r, now):
			p, ok := cat.Plan(r.plan)
			if !ok {
				s.unpriced++
				return
			}
			s.paying++
			s.mrr[p.Currency] += p.Amount
		case r.state == store.StatePastDue:
			s.pastDue++
			if p, ok := cat.Plan(r.plan); ok {
				s.atRisk[p.Currency] += p.Amount
			}
		}
	})
	slices.SortFunc(s.ending, func(a, b row) int {
		if c := a.trialEnd.Compare(b.trialEnd); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return s
}

// summaryScreen shows the summary, recomputed when the index changes.
type summaryScreen struct {
	o   *Ops
	c   *common.Common
	sum summary
	at  time.Time
}

func newSummaryScreen(o *Ops, c *common.Common) *summaryScreen {
	s := &summaryScreen{o: o, c: c}
	s.refresh()
	return s
}

func (s *summaryScreen) refresh() {
	s.at = s.o.cfg.Now()
	s.sum = s.o.summarize(s.at)
}

func (s *summaryScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg.(type) {
	case indexChangedMsg, tabShownMsg:
		s.refresh()
	}
	return nil
}

func (s *summaryScreen) TakesText() bool         { return false }
func (s *summaryScreen) Bindings() []key.Binding { return nil }

func (s *summaryScreen) View(width, height int) string {
	st := s.c.Styles
	sum := s.sum
	if !sum.loaded {
		return st.Subtle.Render("Loading accounts…")
	}
	var lines []string
	add := func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) }
	wrapped := func(style lipgloss.Style, text string) {
		for _, l := range wrapLines(text, width) {
			add("%s", style.Render(l))
		}
	}

	add("%s", st.Title.Render(fmt.Sprintf("Accounts: %s", fmtCount(sum.accounts)))+st.Subtle.Render("  as of "+fmtTime(s.at)+" UTC"))
	keys := make([]stateKey, 0, len(sum.byState))
	for k := range sum.byState {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b stateKey) int {
		if c := cmp.Compare(stateRank(a.state), stateRank(b.state)); c != 0 {
			return c
		}
		return cmp.Compare(boolKey(a.noCard), boolKey(b.noCard))
	})
	// The states in as many columns as fit, filled down: four lines, not
	// eight, at 80 columns.
	const cellW = 2 + 22 + 1 + 9
	cols := max(width/cellW, 1)
	rows := (len(keys) + cols - 1) / cols
	for r := range rows {
		var l strings.Builder
		for c := range cols {
			if i := c*rows + r; i < len(keys) {
				k := keys[i]
				l.WriteString(fmt.Sprintf("  %s %s", fit(k.label(), 22), fitRight(fmtCount(sum.byState[k]), 9)))
			}
		}
		add("%s", l.String())
	}

	// What follows the trials ending soon, built first so that the list
	// gets only the room left.
	var tail []string
	{
		head := lines
		lines = nil
		add("")
		conv := "no trials yet"
		if sum.trialed > 0 {
			conv = fmt.Sprintf("%s of %s accounts that started a trial (%.1f%%)", fmtCount(sum.converted),
				fmtCount(sum.trialed), 100*float64(sum.converted)/float64(sum.trialed))
			if sum.inTrial > 0 {
				conv += fmt.Sprintf("; %s still in trial", fmtCount(sum.inTrial))
			}
		}
		wrapped(st.Value, st.Title.Render("Trial → paid:")+" "+conv)
		wrapped(st.Subtle, "  paid: an invoice.paid at or after the trial end (not the trial's $0 one)")
		add("%s %s from %s", st.Title.Render("MRR:"), moneyByCurrency(sum.mrr), plural(sum.paying, "paying account"))
		if sum.pastDue > 0 {
			add("  %s", st.Warn.Render(fmt.Sprintf("at risk: %s from %s", moneyByCurrency(sum.atRisk), plural(sum.pastDue, "past-due account"))))
		}
		if sum.unpriced > 0 {
			wrapped(st.Warn, fmt.Sprintf("  %s on plans missing from the catalog (not counted)", plural(sum.unpriced, "paying account")))
		}
		wrapped(st.Subtle, "  MRR: active and canceling plans past their trial, at catalog prices")
		tail, lines = lines, head
	}

	add("")
	add("%s", st.Title.Render(fmt.Sprintf("Trials ending within 3 days without a card: %s", fmtCount(len(sum.ending)))))
	room := height - len(lines) - len(tail)
	shown := min(len(sum.ending), max(room, 1))
	if shown < len(sum.ending) {
		shown = max(room-1, 1) // one line for "… and n more"
	}
	for _, r := range sum.ending[:shown] {
		add("  %s %s %s", fit(r.email, 32), fit(orDash(r.plan), 4), fmtTime(r.trialEnd)+" ("+fmtIn(s.at, r.trialEnd)+")")
	}
	if more := len(sum.ending) - shown; more > 0 {
		wrapped(st.Subtle, fmt.Sprintf("  … and %s more (accounts table: state trial, sort by trial end)", fmtCount(more)))
	}
	lines = append(lines, tail...)
	if len(lines) > height {
		lines = lines[:height]
	}
	return strings.Join(lines, "\n")
}

// moneyByCurrency is "$1,234.00" or "$10.00 + 5.00 EUR", "$0.00" when empty.
func moneyByCurrency(m map[string]int64) string {
	if len(m) == 0 {
		return billing.FormatAmount(0, "usd")
	}
	curs := make([]string, 0, len(m))
	for c := range m {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	parts := make([]string, len(curs))
	for i, c := range curs {
		parts[i] = billing.FormatAmount(m[c], c)
	}
	return strings.Join(parts, " + ")
}
