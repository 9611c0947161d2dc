package ops

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// accountsScreen is the accounts table: every account, sorted by any column,
// filtered by state and plan, searched by email, fingerprint or id, one page
// at a time. Every keystroke re-runs the query against the shared index
// (one pass over a presorted slice); nothing is read from the store here.
type accountsScreen struct {
	o *Ops
	c *common.Common

	q         query
	stateSel  int // -1: any; else an index into stateOrder
	planSel   int // -1: any; else an index into plans
	plans     []string
	search    common.TextInput
	searching bool
	width     int // of the last view, for the columns sorting can offer

	pos      int // selected row among the query's matches
	pageSize int
	res      result
}

func newAccountsScreen(o *Ops, c *common.Common) *accountsScreen {
	s := &accountsScreen{o: o, c: c, stateSel: -1, planSel: -1, pageSize: 20,
		search: newInput("/", "email, fingerprint, cus_ or sub_ id", 128)}
	s.plans = append(s.plans, "")
	for _, p := range o.cfg.Catalog.Plans() {
		s.plans = append(s.plans, p.ID)
	}
	s.refresh()
	return s
}

// openDetailMsg opens the detail screen of an account.
type openDetailMsg struct{ id string }

func (s *accountsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case indexChangedMsg:
		s.refresh()
	case tea.KeyMsg:
		if s.searching {
			return s.updateSearch(msg)
		}
		return s.updateKey(msg)
	}
	return nil
}

func (s *accountsScreen) updateSearch(msg tea.KeyMsg) tea.Cmd {
	var cmd tea.Cmd
	switch msg.String() {
	case "enter":
		s.searching = false
		s.search.Blur()
		return nil
	case "esc":
		s.searching = false
		s.search.Blur()
		s.search.SetValue("")
	default:
		s.search, cmd = s.search.Update(msg)
	}
	if v := s.search.Value(); v != s.q.search {
		s.q.search = v
		s.pos = 0
		s.refresh()
	}
	return cmd
}

func (s *accountsScreen) updateKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, s.c.Keys.ListUp):
		s.pos--
	case key.Matches(msg, s.c.Keys.ListDown):
		s.pos++
	case key.Matches(msg, s.c.Keys.PageUp):
		s.pos -= s.pageSize
	case key.Matches(msg, s.c.Keys.PageDown):
		s.pos += s.pageSize
	case key.Matches(msg, s.c.Keys.First):
		s.pos = 0
	case key.Matches(msg, s.c.Keys.Last):
		s.pos = s.res.total - 1
	case key.Matches(msg, s.c.Keys.Open):
		if r, ok := s.selected(); ok {
			id := r.id
			return func() tea.Msg { return openDetailMsg{id: id} }
		}
		return nil
	case key.Matches(msg, s.c.Keys.Search):
		s.searching = true
		return s.search.Focus()
	case key.Matches(msg, s.c.Keys.StateFilter):
		s.stateSel = cycle(s.stateSel, len(stateOrder), msg.String() == "S")
		s.q.states = nil
		if s.stateSel >= 0 {
			s.q.states = []store.State{stateOrder[s.stateSel]}
		}
		s.pos = 0
	case key.Matches(msg, s.c.Keys.PlanFilter):
		s.planSel = cycle(s.planSel, len(s.plans), msg.String() == "P")
		s.q.plans = nil
		if s.planSel >= 0 {
			s.q.plans = []string{s.plans[s.planSel]}
		}
		s.pos = 0
	case key.Matches(msg, s.c.Keys.ClearFilters):
		s.stateSel, s.planSel = -1, -1
		s.q.states, s.q.plans, s.q.search = nil, nil, ""
		s.search.SetValue("")
		s.pos = 0
	case key.Matches(msg, s.c.Keys.SortColumn):
		// Only the columns on screen are offered: a hidden one sorted the
		// table by something the admin could not see.
		cols := s.sortable()
		i := slices.Index(cols, s.q.sort)
		if msg.String() == "left" || msg.String() == "h" {
			i = (i + len(cols) - 1) % len(cols) // from -1 (a hidden sort) to the last
			if i < 0 {
				i = len(cols) - 1
			}
		} else {
			i = (i + 1) % len(cols)
		}
		s.q.sort = cols[i]
		s.pos = 0
	case msg.String() == "esc" && s.q.search != "":
		// esc clears an applied search, as it does while typing one.
		s.search.SetValue("")
		s.q.search = ""
		s.pos = 0
	case key.Matches(msg, s.c.Keys.Reverse):
		s.q.desc = !s.q.desc
		s.pos = 0
	default:
		return nil
	}
	s.refresh()
	return nil
}

// cycle steps a selection through -1 ("any"), 0 … n-1 and back.
func cycle(sel, n int, back bool) int {
	if back {
		if sel < 0 {
			return n - 1
		}
		return sel - 1
	}
	if sel >= n-1 {
		return -1
	}
	return sel + 1
}

// refresh re-runs the query for the page that holds pos, clamping pos to
// the matches (which may have changed under it).
func (s *accountsScreen) refresh() {
	if s.pos < 0 {
		s.pos = 0
	}
	s.q.limit = s.pageSize
	s.q.offset = s.pos - s.pos%s.pageSize
	s.res = s.o.idx.run(s.q)
	if s.res.total > 0 && s.pos >= s.res.total {
		s.pos = s.res.total - 1
		s.q.offset = s.pos - s.pos%s.pageSize
		s.res = s.o.idx.run(s.q)
	}
}

func (s *accountsScreen) selected() (row, bool) {
	i := s.pos - s.q.offset
	if i < 0 || i >= len(s.res.rows) {
		return row{}, false
	}
	return s.res.rows[i], true
}

// setHeight sets how many table rows fit: the screen minus its three lines
// of search, filters and header.
func (s *accountsScreen) setHeight(h int) {
	n := max(h-3, 1)
	if n != s.pageSize {
		s.pageSize = n
		s.refresh()
	}
}

func (s *accountsScreen) TakesText() bool { return s.searching }

// sortable is the columns drawn at the last width, in order.
func (s *accountsScreen) sortable() []column {
	width := s.width
	if width == 0 {
		width = 200
	}
	cols, _ := layout(width)
	out := make([]column, 0, len(cols))
	for c := column(0); c < numColumns; c++ {
		for _, tc := range cols {
			if tc.col == c {
				out = append(out, c)
			}
		}
	}
	return out
}

func (s *accountsScreen) Bindings() []key.Binding {
	if s.searching {
		return []key.Binding{s.c.Keys.DoneText}
	}
	return []key.Binding{s.c.Keys.ListUp, s.c.Keys.ListDown, s.c.Keys.Open, s.c.Keys.Search, s.c.Keys.StateFilter, s.c.Keys.PlanFilter, s.c.Keys.SortColumn, s.c.Keys.Reverse, s.c.Keys.ClearFilters,
		s.c.Keys.PageHelp, s.c.Keys.EndsHelp}
}

// tableColumn is one column as drawn: its width and priority (the lowest
// priority goes first when the terminal is too narrow).
type tableColumn struct {
	col      column
	width    int
	priority int
}

// layout picks the columns that fit in width and the email column's width.
func layout(width int) (cols []tableColumn, emailW int) {
	// Plan and Card are as wide as their names with the sort mark ("Plan ^").
	all := []tableColumn{
		{colEmail, 0, 9}, {colPlan, 6, 8}, {colState, 19, 8}, {colTrialEnd, 12, 7}, {colCard, 6, 6},
		{colCustomer, 18, 5}, {colSubscription, 18, 3}, {colLastSync, 16, 4},
	}
	const markerW, minEmail, maxEmail = 2, 16, 32
	for {
		used := markerW
		for _, c := range all {
			used += c.width + 1
		}
		if free := width - used; free >= minEmail || len(all) == 2 {
			return all, min(max(free, minEmail), maxEmail)
		}
		low := 1 // never the email column, first
		for i := 2; i < len(all); i++ {
			if all[i].priority < all[low].priority {
				low = i
			}
		}
		all = append(all[:low:low], all[low+1:]...)
	}
}

func (s *accountsScreen) View(width, height int) string {
	st := s.c.Styles
	s.setHeight(height)
	s.width = width
	var b strings.Builder

	// Line 1: search. Line 2: filters, sort and the count.
	if s.searching || s.q.search != "" {
		b.WriteString(s.search.View())
	} else {
		b.WriteString(st.Subtle.Render("/ to search by email, fingerprint, account, cus_ or sub_ id"))
	}
	b.WriteString("\n")
	stateF, planF := "any", "any"
	if s.stateSel >= 0 {
		stateF = stateLabel(stateOrder[s.stateSel], true, false)
	}
	if s.planSel >= 0 {
		planF = s.plans[s.planSel]
		if planF == "" {
			planF = "none" // as the state filter names accounts without a plan
		}
	}
	dir := "asc"
	if s.q.desc {
		dir = "desc"
	}
	count := "no accounts"
	switch {
	case !s.res.loaded:
		count = "loading accounts…"
	case s.res.total > 0:
		count = fmt.Sprintf("%s–%s of %s", fmtCount(s.q.offset+1), fmtCount(s.q.offset+len(s.res.rows)), fmtCount(s.res.total))
		if s.res.total != s.res.size {
			count += fmt.Sprintf(" (filtered from %s)", fmtCount(s.res.size))
		}
	case s.res.size > 0:
		count = fmt.Sprintf("no match among %s", fmtCount(s.res.size))
	}
	b.WriteString(fmt.Sprintf("State: %s  Plan: %s  Sort: %s %s  ", stateF, planF, s.q.sort, dir))
	b.WriteString(st.Subtle.Render(count))
	b.WriteString("\n")

	cols, emailW := layout(width)
	var hdr strings.Builder
	hdr.WriteString("  ")
	for _, c := range cols {
		w := c.width
		if c.col == colEmail {
			w = emailW
		}
		name := c.col.String()
		if c.col == s.q.sort {
			name += map[bool]string{false: " ^", true: " v"}[s.q.desc]
		}
		hdr.WriteString(fit(name, w) + " ")
	}
	b.WriteString(st.Label.UnsetWidth().Bold(true).Render(strings.TrimRight(hdr.String(), " ")))
	for i, r := range s.res.rows {
		b.WriteString("\n")
		var line strings.Builder
		for _, c := range cols {
			w := c.width
			if c.col == colEmail {
				w = emailW
			}
			line.WriteString(fit(cellText(c.col, r), w) + " ")
		}
		text := strings.TrimRight(line.String(), " ")
		if s.q.offset+i == s.pos {
			b.WriteString(st.Selected.Render("> " + text))
		} else {
			b.WriteString("  " + text)
		}
	}
	return b.String()
}

func cellText(c column, r row) string {
	switch c {
	case colEmail:
		return r.email
	case colPlan:
		return orDash(r.plan)
	case colState:
		l := stateLabel(r.state, true, r.pending)
		if r.cancelAtEnd && r.state != store.StateCanceling {
			l += " (cancels)"
		}
		return l
	case colTrialEnd:
		return fmtDate(r.trialEnd)
	case colCard:
		return yesNo(r.hasCard)
	case colCustomer:
		return orDash(r.customerID)
	case colSubscription:
		return orDash(r.subscriptionID)
	case colLastSync:
		return fmtTime(r.lastSync)
	}
	return ""
}
