package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui/common"
)

// invoicesScreen lists the account's invoices (date, number, plan, amount,
// status) and shows the chosen one's hosted Stripe page as a link, the way
// the card screen shows Checkout: text, OSC 8 link and QR code.
type invoicesScreen struct {
	e        *env
	account  store.Account
	invoices []billing.Invoice
	loaded   bool
	err      string
	cursor   int
	link     *billing.Link
	linkFor  string // the invoice id the link is for
	linkBusy bool
	linkView
	keys struct{ Up, Down, Open, QR, Back key.Binding }
}

// invoicesMsg carries a read of the account's invoices.
type invoicesMsg struct {
	invoices []billing.Invoice
	err      error
}

// invoiceLinkMsg carries the short link to one invoice's page.
type invoiceLinkMsg struct {
	id   string
	link billing.Link
	err  error
}

func newInvoicesScreen(e *env, a store.Account) *invoicesScreen {
	s := &invoicesScreen{e: e, account: a}
	s.keys.Up, s.keys.Down, s.keys.Back = e.Keys.MoveUp, e.Keys.MoveDown, e.Keys.Back
	s.keys.Open, s.keys.QR = e.Keys.OpenLink, common.Disabled(e.Keys.QR)
	return s
}

// Init reads the invoices from Stripe.
func (s *invoicesScreen) Init() tea.Cmd {
	e, id := s.e, s.account.ID
	return func() tea.Msg {
		invs, err := e.billing.Invoices(e.Ctx, id)
		return invoicesMsg{invoices: invs, err: err}
	}
}

func (s *invoicesScreen) TakesText() bool { return false }

func (s *invoicesScreen) Bindings() []key.Binding {
	if len(s.invoices) < 2 {
		return []key.Binding{s.keys.Open, s.keys.QR, s.keys.Back}
	}
	return []key.Binding{s.keys.Up, s.keys.Open, s.keys.QR, s.keys.Back}
}

// SetAccount reads the invoices again: a change to the account (a payment,
// a plan change) usually comes with a new or newly paid invoice.
func (s *invoicesScreen) SetAccount(a store.Account, _ []store.Notice) (tea.Cmd, bool) {
	s.account = a
	return s.Init(), true
}

func (s *invoicesScreen) selected() (billing.Invoice, bool) {
	if s.cursor < 0 || s.cursor >= len(s.invoices) {
		return billing.Invoice{}, false
	}
	return s.invoices[s.cursor], true
}

func (s *invoicesScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case invoicesMsg:
		s.loaded = true
		if s.e.failed(&s.err, "invoices", s.account.ID, msg.err) {
			return nil
		}
		cur, _ := s.selected()
		s.invoices = msg.invoices
		s.cursor = 0
		for i, inv := range s.invoices {
			if inv.ID == cur.ID {
				s.cursor = i
			}
		}
		s.keys.Open.SetEnabled(len(s.invoices) > 0)
	case invoiceLinkMsg:
		if inv, ok := s.selected(); !ok || inv.ID != msg.id {
			return nil // the cursor moved on meanwhile
		}
		s.linkBusy = false
		if s.e.failed(&s.err, "invoice link", s.account.ID, msg.err) {
			return nil
		}
		s.link, s.linkFor = &msg.link, msg.id
		s.linkView = newLinkView(s.e, msg.link.URL, &s.keys.QR)
	case tea.KeyMsg:
		k := s.keys
		if cmd, took := s.linkKeys(s.e, msg, k.QR, k.Back); took {
			return cmd
		}
		switch {
		case key.Matches(msg, k.Up) && s.cursor > 0:
			s.cursor--
			s.dropLink()
		case key.Matches(msg, k.Down) && s.cursor < len(s.invoices)-1:
			s.cursor++
			s.dropLink()
		case key.Matches(msg, k.Open) && !s.linkBusy:
			inv, ok := s.selected()
			if !ok || inv.URL == "" {
				return nil
			}
			s.linkBusy, s.err = true, ""
			e, id := s.e, s.account.ID
			return func() tea.Msg {
				l, err := e.billing.InvoiceLink(e.Ctx, id, inv.ID)
				return invoiceLinkMsg{id: inv.ID, link: l, err: err}
			}
		}
	}
	return nil
}

// dropLink forgets the link when the cursor leaves its invoice.
func (s *invoicesScreen) dropLink() {
	s.link, s.linkFor, s.linkBusy = nil, "", false
	s.keys.QR.SetEnabled(false)
}

// InvoiceStatusText names an invoice status for customers.
func InvoiceStatusText(st string) string {
	switch st {
	case "open":
		return "due"
	case "":
		return "-"
	}
	return st
}

func (s *invoicesScreen) View(width, _ int) string {
	st := s.e.Styles
	w := width
	lines := []string{st.Title.Render("Invoices"), ""}
	switch {
	case !s.loaded:
		return strings.Join(append(lines, st.Subtle.Render("Reading your invoices from Stripe…")), "\n")
	case len(s.invoices) == 0 && s.err == "":
		return strings.Join(append(lines, wrap("No invoices yet. Each payment, including a trial's $0 start, "+
			"shows here with its Stripe page.", w)), "\n")
	}
	// Columns: date, number, plan, amount, status; the plan goes first when
	// the window is narrow, then the number.
	rows := make([][]string, len(s.invoices))
	for i, inv := range s.invoices {
		rows[i] = []string{inv.Date.UTC().Format("2 Jan 2006"), inv.Number, inv.Plan,
			billing.FormatAmount(inv.Amount, inv.Currency), InvoiceStatusText(inv.Status)}
	}
	drop := []int{2, 1}
	cols := []int{0, 1, 2, 3, 4}
	for tableWidth(rows, cols) > w-2 && len(drop) > 0 {
		cols = without(cols, drop[0])
		drop = drop[1:]
	}
	widths := columnWidths(rows, cols)
	// Keep the list's window around the cursor on a short screen.
	room := max(s.e.contentHeight()-9, 3)
	first := max(0, min(s.cursor-room/2, len(rows)-room))
	for i := first; i < len(rows) && i < first+room; i++ {
		var cells []string
		for j, c := range cols {
			cell := rows[i][c]
			if c == 3 {
				cells = append(cells, fmt.Sprintf("%*s", widths[j], cell))
			} else {
				cells = append(cells, cell+strings.Repeat(" ", widths[j]-ansi.StringWidth(cell)))
			}
		}
		line := strings.TrimRight(strings.Join(cells, "  "), " ")
		if i == s.cursor {
			lines = append(lines, st.Focused.Render("› "+line))
		} else {
			lines = append(lines, "  "+line)
		}
	}
	lines = append(lines, "")
	inv, _ := s.selected()
	switch {
	case s.err != "":
		lines = append(lines, st.Error.Render(wrapHanging("✗ "+s.err, w, 2)))
	case s.linkBusy:
		lines = append(lines, st.Subtle.Render("Opening the invoice's page…"))
	case s.link != nil && s.linkFor == inv.ID:
		lines = append(lines, wrap("Invoice "+inv.Number+" on Stripe, with its PDF:", w), s.urlText(w))
		if s.qrOK {
			lines = append(lines, st.Subtle.Render("Press v for a QR code."))
		}
	case inv.URL == "":
		lines = append(lines, st.Subtle.Render("This invoice has no page yet."))
	default:
		lines = append(lines, st.Subtle.Render(wrap("Press enter for this invoice's page on Stripe (and its PDF).", w)))
	}
	return strings.Join(lines, "\n")
}

func columnWidths(rows [][]string, cols []int) []int {
	widths := make([]int, len(cols))
	for _, r := range rows {
		for j, c := range cols {
			widths[j] = max(widths[j], ansi.StringWidth(r[c]))
		}
	}
	return widths
}

func tableWidth(rows [][]string, cols []int) int {
	total := 0
	for _, wd := range columnWidths(rows, cols) {
		total += wd + 2
	}
	return total
}

func without(cols []int, c int) []int {
	out := make([]int, 0, len(cols))
	for _, x := range cols {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}
