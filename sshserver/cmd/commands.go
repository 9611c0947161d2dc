package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/portal/portal/accounts"
	"github.com/portal/portal/billing"
	"github.com/portal/portal/store"
	"github.com/portal/portal/tui"
	"github.com/portal/portal/tui/common"
)

// Config is what the commands run on: the customer UI's services
// (tui.UI's Billing and Keys), so that a command and a screen share one
// billing and one limit on link attempts.
type Config struct {
	Store   store.Store
	Billing tui.Billing
	Keys    *accounts.Service
	Logger  *slog.Logger
	// Commands are script commands beyond the customer's (see Command),
	// listed by help after them.
	Commands []Command
}

// Table is the command table and the services its commands run on; the
// SSH layer runs it for every session with a command.
type Table struct{ cfg Config }

// New returns the table for cfg; a nil Logger discards.
func New(cfg Config) *Table {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Table{cfg: cfg}
}

// Command is one `ssh host NAME ARGS...` command for scripts. Every command
// takes --json; exit status 0 is success, anything else comes with a
// one-line reason on stderr (and {"error": reason} on stdout with --json).
// Exit 2 is a usage error.
type Command struct {
	Name    string
	Usage   string // after the name, e.g. "NAME [--yes] [--json]"
	Summary string
	// Admin: for admin keys only (ops commands, e.g. a backup).
	Admin bool
	Run   func(c *Cmd) int
}

// Cmd is one run of a command: the session, its parsed arguments and
// writers for text (CR LF on a terminal).
type Cmd struct {
	Table   *Table
	Session ssh.Session
	Name    string
	Args    []string // positional arguments after the name
	JSON    bool     // --json
	Yes     bool     // --yes
	Wait    bool     // --wait
	Out     io.Writer
	Err     io.Writer
	// Admin: the key is an admin's; OpsView: it opens the ops view (an
	// admin key on a portal with one), so it has no account here. The SSH
	// layer decides both (sshserver).
	Admin, OpsView bool
	// Raw is the argument list as given, for commands that parse their own.
	Raw []string
}

// commands is the command table in the order help lists them; Config.
// Commands adds more (an ops backup, say).
func (t *Table) commands() []Command {
	cmds := []Command{
		{Name: "help", Usage: "[--json]", Summary: "List the commands.", Run: runHelp},
		{Name: "status", Usage: "[--json]", Summary: "The account's plan, state, trial and card.",
			Run: func(c *Cmd) int { return c.Table.runStatus(c.Session, c.Raw, c.OpsView) }},
		{Name: "plans", Usage: "[--json]", Summary: "The plans and their prices; * marks yours.", Run: runPlans},
		{Name: "invoices", Usage: "[--json]", Summary: "The account's invoices, newest first.",
			Run: runInvoices},
		{Name: "keys", Usage: "[list | add < KEY.pub | remove FINGERPRINT | label FINGERPRINT [TEXT]] [--json]",
			Summary: "The account's SSH keys: list, add one from stdin, remove or label one.", Run: runKeys},
		{Name: "link", Usage: "CODE [--json]", Summary: "Add this key to the account that made CODE (keys screen, l).", Run: runLink},
		{Name: "card", Usage: "[--wait] [--json]", Summary: "A secure link to add or replace the card; --wait waits until it is saved.", Run: runCard},
		{Name: "plan", Usage: "NAME [--yes] [--json]", Summary: "Preview a move to plan NAME; --yes makes it.", Run: runPlan},
		{Name: "cancel", Usage: "--yes [--json]", Summary: "Cancel at the end of the period (or trial).", Run: runCancel},
		{Name: "resume", Usage: "--yes [--json]", Summary: "Keep the plan after all: undo a cancel.", Run: runCancel},
		{Name: "billing", Usage: "[--json]", Summary: "A link to Stripe's billing portal (invoices, card, details).", Run: runBilling},
		{Name: "email", Usage: "NEW --yes [--json]", Summary: "Change the account's email (and the billing email).", Run: runEmail},
	}
	return append(cmds, t.cfg.Commands...)
}

func (t *Table) command(name string) (Command, bool) {
	for _, c := range t.commands() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Run runs `ssh host NAME ...` and returns the exit status; admin and
// opsView are as in Cmd.
func (t *Table) Run(s ssh.Session, admin, opsView bool) int {
	args := s.Command()
	out, errOut := t.plainWriters(s)
	c := &Cmd{Table: t, Session: s, Name: args[0], Out: out, Err: errOut, Raw: args[1:], Admin: admin, OpsView: opsView}
	// --json first, so a usage error (an unknown command or option) is
	// JSON on stdout too.
	c.JSON = slices.ContainsFunc(args[1:], func(a string) bool { return a == "--json" || a == "-json" })
	def, ok := t.command(args[0])
	if !ok {
		return c.fail(2, fmt.Sprintf("Unknown command %q. `help` lists the commands; connect without a command for the interactive portal.", args[0]))
	}
	for _, a := range args[1:] {
		switch a {
		case "--json", "-json":
		case "--yes", "-y":
			c.Yes = true
		case "--wait":
			c.Wait = true
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return c.usage(def, fmt.Sprintf("unknown option %q", a))
			}
			c.Args = append(c.Args, a)
		}
	}
	if def.Admin && !c.Admin {
		return c.fail(1, def.Name+" is for admin keys only.")
	}
	return def.Run(c)
}

// fail reports a refusal: the reason on stderr, and {"error": reason} on
// stdout for --json, so a script reading stdout sees JSON either way.
func (c *Cmd) fail(code int, reason string) int {
	reason = strings.TrimSpace(strings.ReplaceAll(reason, "\n", " "))
	if c.JSON {
		c.json(struct {
			Error string `json:"error"`
		}{reason})
	}
	fmt.Fprintln(c.Err, reason)
	return code
}

func (c *Cmd) usage(def Command, problem string) int {
	return c.fail(2, fmt.Sprintf("%s: %s; usage: %s %s", def.Name, problem, def.Name, def.Usage))
}

func (c *Cmd) json(v any) {
	enc := json.NewEncoder(c.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a usage's "<" stays "<"
	_ = enc.Encode(v)
}

// write answers: v as JSON with --json, else text.
func (c *Cmd) write(v any, text string) int {
	if c.JSON {
		c.json(v)
		return 0
	}
	_, _ = io.WriteString(c.Out, text)
	return 0
}

// account is the account of the key that signed, or a refusal already
// reported (ok false, exit code set). An admin key is not an account here,
// as it is not at the terminal.
func (c *Cmd) account() (a store.Account, code int, ok bool) {
	t := c.Table
	id, found := common.IdentityFrom(c.Session.Context())
	if !found {
		return a, c.fail(1, "This portal accepts public-key authentication only."), false
	}
	if c.OpsView {
		return a, c.fail(1, "This is an admin key: it has no account. Connect with `ssh -t` and no command for the ops view."), false
	}
	a, err := t.cfg.Store.AccountByKey(id.Fingerprint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return a, c.fail(1, "This key is not registered: connect with `ssh -t` and no command to register it, or link it with `link CODE`."), false
	case err != nil:
		t.cfg.Logger.Error(c.Name+": load account", "key", id.Fingerprint, "err", err)
		return a, c.fail(1, "We could not read your account right now; nothing was changed. Please try again."), false
	}
	return a, 0, true
}

// accountWith starts a command that acts on the key's account: it takes
// n arguments (a usage error says problem otherwise), checked before the
// account is read.
func (c *Cmd) accountWith(n int, problem string) (a store.Account, code int, ok bool) {
	if len(c.Args) != n {
		d, _ := c.Table.command(c.Name)
		return a, c.usage(d, problem), false
	}
	return c.account()
}

// actionCtx is the context for a change: detached from the session, so a
// connection dropped mid-write does not cancel a Stripe call whose outcome
// would then be unknown, but bounded.
func (c *Cmd) actionCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.Session.Context()), 2*time.Minute)
}

func (c *Cmd) actor() string {
	id, _ := common.IdentityFrom(c.Session.Context())
	return "key:" + id.Fingerprint
}

// HelpEntry is one command in `help --json`.
type HelpEntry struct {
	Name    string `json:"name"`
	Usage   string `json:"usage"`
	Summary string `json:"summary"`
	Admin   bool   `json:"admin,omitempty"`
}

func runHelp(c *Cmd) int {
	var list []HelpEntry
	var sb strings.Builder
	sb.WriteString("Commands (ssh <host> COMMAND; each takes --json):\n")
	admin := c.Admin
	for _, d := range c.Table.commands() {
		if d.Admin && !admin {
			continue
		}
		list = append(list, HelpEntry{d.Name, d.Usage, d.Summary, d.Admin})
		fmt.Fprintf(&sb, "  %s %s\n      %s\n", d.Name, d.Usage, d.Summary)
	}
	sb.WriteString("Exit status 0 on success; otherwise a one-line reason on stderr.\n")
	return c.write(list, sb.String())
}

// PlanEntry is one plan in `plans --json`: amount per month in minor units.
type PlanEntry struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Amount   int64    `json:"amount"`
	Currency string   `json:"currency"`
	Interval string   `json:"interval"`
	Features []string `json:"features"`
	Current  bool     `json:"current"`
}

func runPlans(c *Cmd) int {
	if len(c.Args) > 0 {
		d, _ := c.Table.command("plans")
		return c.usage(d, "no arguments expected")
	}
	// The catalog is public, but "current" needs the account: a key
	// without one still sees the plans.
	var current string
	if id, ok := common.IdentityFrom(c.Session.Context()); ok {
		if a, err := c.Table.cfg.Store.AccountByKey(id.Fingerprint); err == nil {
			current = a.Plan
		}
	}
	var list []PlanEntry
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLAN\tNAME\tPRICE\tFEATURES")
	for _, p := range c.Table.cfg.Billing.Catalog().Plans() {
		feats := p.Features
		if feats == nil {
			feats = []string{}
		}
		list = append(list, PlanEntry{p.ID, p.Name, p.Amount, p.Currency, "month", feats, p.ID == current})
		mark := " "
		if p.ID == current {
			mark = "*"
		}
		price := "free"
		if !p.Free() {
			price = billing.FormatAmount(p.Amount, p.Currency) + "/month"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", mark, p.ID, p.Name, price, strings.Join(p.Features, ", "))
	}
	_ = tw.Flush()
	return c.write(list, sb.String())
}

// KeyEntry is one key in `keys --json`. Times are RFC 3339; last_used_at
// is null until the key opens a session.
type KeyEntry struct {
	Fingerprint string     `json:"fingerprint"`
	Type        string     `json:"type"`
	Label       string     `json:"label"`
	AddedAt     time.Time  `json:"added_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	// Current is the key this command was signed with.
	Current bool `json:"current"`
}

func keyEntry(k store.Key, current string) KeyEntry {
	e := KeyEntry{Fingerprint: k.Fingerprint, Type: k.Type(), Label: k.Label, AddedAt: jsonTime(k.AddedAt), Current: k.Fingerprint == current}
	if !k.LastUsedAt.IsZero() {
		t := jsonTime(k.LastUsedAt)
		e.LastUsedAt = &t
	}
	return e
}

func runKeys(c *Cmd) int {
	d, _ := c.Table.command("keys")
	sub := "list"
	if len(c.Args) > 0 {
		sub = c.Args[0]
	}
	switch {
	case sub == "list" && len(c.Args) <= 1, sub == "add" && len(c.Args) == 1,
		sub == "remove" && len(c.Args) == 2, sub == "label" && len(c.Args) >= 2:
	default:
		return c.usage(d, "unexpected "+strings.Join(c.Args, " "))
	}
	a, code, ok := c.account()
	if !ok {
		return code
	}
	id, _ := common.IdentityFrom(c.Session.Context())
	svc := c.Table.cfg.Keys
	switch sub {
	case "add":
		line, err := io.ReadAll(io.LimitReader(c.Session, 16<<10))
		if err != nil {
			return c.fail(1, "Could not read the key from stdin.")
		}
		k, err := accounts.ParseKey(string(line))
		if err != nil {
			return c.fail(1, accounts.Message(err))
		}
		ctx, cancel := c.actionCtx()
		defer cancel()
		a, err = svc.AddKey(ctx, a.ID, k, c.actor())
		if err != nil {
			return c.fail(1, c.Table.logged("keys add", a.ID, err, accounts.Message(err)))
		}
		k, _ = accounts.FindKey(a, k.Fingerprint)
		return c.write(keyEntry(k, id.Fingerprint), fmt.Sprintf("Added %s %s%s. The account has %d keys.\n",
			k.Type(), k.Fingerprint, labelSuffix(k.Label), len(a.Keys)))
	case "remove", "label":
		k, found := accounts.FindKey(a, c.Args[1])
		if !found {
			return c.fail(1, "No key "+c.Args[1]+" on this account; `keys` lists them.")
		}
		ctx, cancel := c.actionCtx()
		defer cancel()
		var err error
		if sub == "remove" {
			a, err = svc.RemoveKey(ctx, a.ID, k.Fingerprint, c.actor())
		} else {
			a, err = svc.SetLabel(ctx, a.ID, k.Fingerprint, strings.Join(c.Args[2:], " "), c.actor())
		}
		if err != nil {
			return c.fail(1, c.Table.logged("keys "+sub, a.ID, err, accounts.Message(err)))
		}
		if sub == "label" {
			k, _ = accounts.FindKey(a, k.Fingerprint)
			text := fmt.Sprintf("Labelled %s%s.\n", k.Fingerprint, labelSuffix(k.Label))
			if k.Label == "" {
				text = "Label of " + k.Fingerprint + " removed.\n"
			}
			return c.write(keyEntry(k, id.Fingerprint), text)
		}
		current := k.Fingerprint == id.Fingerprint
		text := fmt.Sprintf("Removed %s. The account has %d key(s) left.\n", k.Fingerprint, len(a.Keys))
		if current {
			text += "That was the key of this command: it no longer reaches the account, and gets the register screen next time.\n"
		}
		return c.write(struct {
			Removed string `json:"removed"`
			Current bool   `json:"current"`
			Left    int    `json:"keys_left"`
		}{k.Fingerprint, current, len(a.Keys)}, text)
	}
	list := make([]KeyEntry, 0, len(a.Keys))
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FINGERPRINT\tTYPE\tLABEL\tADDED\tLAST USED")
	for _, k := range a.Keys {
		e := keyEntry(k, id.Fingerprint)
		list = append(list, e)
		mark, used := " ", "never"
		if e.Current {
			mark = "*"
		}
		if e.LastUsedAt != nil {
			used = e.LastUsedAt.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\n", mark, k.Fingerprint, k.Type(), dash(k.Label), e.AddedAt.Format("2006-01-02 15:04"), used)
	}
	_ = tw.Flush()
	sb.WriteString("* this key. Times in UTC.\n")
	return c.write(list, sb.String())
}

// jsonTime is t as commands print it: UTC, whole seconds (Stripe's times
// are; the portal's own would otherwise carry nanoseconds).
func jsonTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func labelSuffix(label string) string {
	if label == "" {
		return ""
	}
	return " (" + label + ")"
}

// logged logs a failure that is not the customer's doing and returns msg.
func (t *Table) logged(op, accountID string, err error, msg string) string {
	var ae *accounts.Error
	var be *billing.Error
	if !errors.As(err, &ae) && !errors.As(err, &be) {
		t.cfg.Logger.Error(op, "account", accountID, "err", err)
	} else {
		t.cfg.Logger.Info(op+" refused", "account", accountID, "err", err)
	}
	return msg
}

func runLink(c *Cmd) int {
	d, _ := c.Table.command("link")
	if len(c.Args) != 1 {
		return c.usage(d, "one code expected")
	}
	id, ok := common.IdentityFrom(c.Session.Context())
	if !ok {
		return c.fail(1, "This portal accepts public-key authentication only.")
	}
	if c.OpsView {
		return c.fail(1, "This is an admin key: it cannot be linked to an account.")
	}
	a, err := c.Table.cfg.Store.AccountByKey(id.Fingerprint)
	switch {
	case err == nil:
		return c.fail(1, "This key already reaches an account ("+a.Email+"): a key can reach one account only.")
	case !errors.Is(err, store.ErrNotFound):
		c.Table.cfg.Logger.Error("link: load account", "key", id.Fingerprint, "err", err)
		return c.fail(1, "We could not read the accounts right now; nothing was changed. Please try again.")
	}
	ctx, cancel := c.actionCtx()
	defer cancel()
	a, err = c.Table.cfg.Keys.Link(ctx, c.Args[0], store.Key{Fingerprint: id.Fingerprint, PublicKey: id.PublicKey}, c.Session.RemoteAddr().String())
	if err != nil {
		return c.fail(1, c.Table.logged("link", "", err, accounts.Message(err)))
	}
	return c.write(struct {
		Linked      bool   `json:"linked"`
		Email       string `json:"email"`
		Fingerprint string `json:"fingerprint"`
		Keys        int    `json:"keys"`
	}{true, a.Email, id.Fingerprint, len(a.Keys)},
		fmt.Sprintf("Linked: this key (%s) now reaches the account of %s, which has %d keys.\n", id.Fingerprint, a.Email, len(a.Keys)))
}

// LinkEntry is a link a command prints: url (short, for a browser) and
// when it stops working.
type LinkEntry struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func runCard(c *Cmd) int {
	a, code, ok := c.accountWith(0, "no arguments expected")
	if !ok {
		return code
	}
	// Subscribe before the link exists, so a card saved at once is not missed.
	var sub *store.Subscription
	if c.Wait {
		sub = c.Table.cfg.Store.Subscribe(a.ID)
		defer sub.Close()
	}
	ctx, cancel := c.actionCtx()
	l, err := c.Table.cfg.Billing.CardLink(ctx, a.ID)
	cancel()
	if err != nil {
		return c.fail(1, c.Table.logged("card", a.ID, err, billing.Message(err)))
	}
	link := LinkEntry{URL: l.URL, ExpiresAt: jsonTime(l.ExpiresAt)}
	if !c.Wait {
		return c.write(link, fmt.Sprintf("Add your card on this secure Stripe page (valid until %s):\n%s\n", link.ExpiresAt.Format(time.RFC3339), link.URL))
	}
	if !c.JSON {
		fmt.Fprintf(c.Out, "Add your card on this secure Stripe page:\n%s\n", link.URL)
		fmt.Fprintln(c.Err, "Waiting until the card is saved (ctrl-c stops waiting; the link stays valid)…")
	}
	before := a
	deadline := time.NewTimer(time.Until(l.ExpiresAt) + time.Minute)
	defer deadline.Stop()
	for {
		select {
		case <-c.Session.Context().Done():
			return 1
		case <-deadline.C:
			return c.fail(1, "The card link expired before a card was saved; run card again for a new one.")
		case _, open := <-sub.C():
			if !open {
				return c.fail(1, "The portal is restarting; run card --wait again.")
			}
			now, err := c.Table.cfg.Store.Account(a.ID)
			if err != nil {
				continue
			}
			if now.NewCardSince(before) {
				card := StatusCard{Brand: now.CardBrand, Last4: now.CardLast4}
				return c.write(struct {
					LinkEntry
					Card StatusCard `json:"card"`
				}{link, card}, "Card saved: "+tui.CardText(now)+".\n")
			}
		}
	}
}

// PlanPreview is `plan NAME --json` without --yes: what the move costs.
// Amounts in minor units; next_invoice_at null when unknown.
type PlanPreview struct {
	Plan          string     `json:"plan"`
	PlanName      string     `json:"plan_name"`
	Changed       bool       `json:"changed"`
	Upgrade       bool       `json:"upgrade"`
	AmountDue     int64      `json:"amount_due"`
	NextAmount    int64      `json:"next_amount"`
	Currency      string     `json:"currency"`
	NextInvoiceAt *time.Time `json:"next_invoice_at"`
	// AtPeriodEnd is true when the move waits for the end of the paid
	// period (next_invoice_at): a downgrade with -downgrade-at period_end.
	AtPeriodEnd bool `json:"at_period_end"`
}

// ChangeResult is what a change prints with --json: the account after it.
type ChangeResult struct {
	Changed bool   `json:"changed"`
	Status  Status `json:"status"`
}

func runPlan(c *Cmd) int {
	a, code, ok := c.accountWith(1, "one plan name expected (see plans)")
	if !ok {
		return code
	}
	b := c.Table.cfg.Billing
	p, found := findPlan(b.Catalog(), c.Args[0])
	if !found {
		return c.fail(1, fmt.Sprintf("There is no plan %q; `plans` lists them.", c.Args[0]))
	}
	undo := p.ID == a.Plan && a.ScheduledPlan != "" // staying put undoes a scheduled change
	if p.ID == a.Plan && !a.State.Locked() && !undo {
		return c.fail(1, "You are on "+p.Name+" already.")
	}
	ctx, cancel := c.actionCtx()
	defer cancel()
	if !c.Yes && undo {
		out := PlanPreview{Plan: p.ID, PlanName: p.Name, Currency: a.Currency}
		return c.write(out, fmt.Sprintf("Stay on %s: the move to %s on %s is undone.\nNothing changed yet: run `plan %s --yes` to stay.\n",
			p.Name, b.Catalog().Name(a.ScheduledPlan), a.ScheduledAt.UTC().Format(time.RFC3339), p.ID))
	}
	if !c.Yes {
		pv, err := b.PreviewChange(ctx, a.ID, p.ID)
		if err != nil {
			return c.fail(1, c.Table.logged("plan preview", a.ID, err, billing.Message(err)))
		}
		out := PlanPreview{Plan: p.ID, PlanName: p.Name, Upgrade: pv.Upgrade, AmountDue: pv.AmountDue,
			NextAmount: pv.NextAmount, Currency: pv.Currency, AtPeriodEnd: pv.AtPeriodEnd}
		var sb strings.Builder
		fmt.Fprintf(&sb, "Move to %s:\n", b.Catalog().Line(p.ID))
		if pv.AmountDue > 0 {
			fmt.Fprintf(&sb, "  Charged now: %s\n", billing.FormatAmount(pv.AmountDue, pv.Currency))
		}
		if !pv.NextAt.IsZero() {
			t := jsonTime(pv.NextAt)
			out.NextInvoiceAt = &t
			fmt.Fprintf(&sb, "  Next invoice: %s on %s\n", billing.FormatAmount(pv.NextAmount, pv.Currency), t.Format(time.RFC3339))
		}
		if pv.AtPeriodEnd {
			fmt.Fprintf(&sb, "  Happens at the end of the period (%s): you keep %s until then.\n",
				pv.NextAt.UTC().Format(time.RFC3339), b.Catalog().Name(a.Plan))
		}
		if !p.Free() && !a.HasLiveSubscription() && tui.TrialAvailable(a) {
			fmt.Fprintf(&sb, "  Starts with a %d-day trial, no card needed.\n", b.TrialDays())
		}
		fmt.Fprintf(&sb, "Nothing changed yet: run `plan %s --yes` to make the move.\n", p.ID)
		return c.write(out, sb.String())
	}
	after, err := b.ChoosePlan(ctx, a.ID, p.ID)
	if err != nil {
		msg := billing.Message(err)
		if errors.Is(err, billing.ErrCardRequired) {
			msg += " Run `card` for a link."
		}
		return c.fail(1, c.Table.logged("plan", a.ID, err, msg))
	}
	switch {
	case after.ScheduledPlan != "":
		return c.changed(after, "Scheduled: "+tui.PlanText(b.Catalog(), after)+". Run `plan "+after.Plan+" --yes` to undo it.\n")
	case undo:
		return c.changed(after, "Your plan stays "+b.Catalog().Line(after.Plan)+": the change is undone.\n")
	}
	return c.changed(after, "Your plan is now "+b.Catalog().Line(after.Plan)+" ("+tui.StateText(after)+").\n")
}

func findPlan(cat billing.Catalog, name string) (billing.Plan, bool) {
	for _, p := range cat.Plans() {
		if strings.EqualFold(p.ID, name) || strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return billing.Plan{}, false
}

func (c *Cmd) changed(a store.Account, text string) int {
	return c.write(ChangeResult{Changed: true, Status: statusOf(a, c.Table.cfg.Billing, c.Table.cfg.Billing.Now())}, text)
}

// runCancel is cancel and resume: billing decides whether the state allows
// it (a Free account has no subscription to cancel).
func runCancel(c *Cmd) int {
	a, code, ok := c.accountWith(0, "no arguments expected")
	if !ok {
		return code
	}
	d, _ := c.Table.command(c.Name)
	cancelIt := c.Name == "cancel"
	if !c.Yes {
		what := "cancel the plan at the end of the period"
		if !cancelIt {
			what = "keep the plan (undo the cancel)"
		}
		return c.usage(d, "add --yes to "+what)
	}
	ctx, cancel := c.actionCtx()
	defer cancel()
	var after store.Account
	var err error
	if cancelIt {
		after, err = c.Table.cfg.Billing.CancelAtPeriodEnd(ctx, a.ID)
	} else {
		after, err = c.Table.cfg.Billing.UndoCancel(ctx, a.ID)
	}
	if err != nil {
		return c.fail(1, c.Table.logged(c.Name, a.ID, err, billing.Message(err)))
	}
	text := "Your plan stays: the cancel is undone.\n"
	if cancelIt {
		text = "Canceled: " + tui.StateText(after) + ".\n"
	}
	return c.changed(after, text)
}

func runBilling(c *Cmd) int {
	a, code, ok := c.accountWith(0, "no arguments expected")
	if !ok {
		return code
	}
	ctx, cancel := c.actionCtx()
	defer cancel()
	l, err := c.Table.cfg.Billing.PortalLink(ctx, a.ID)
	if err != nil {
		return c.fail(1, c.Table.logged("billing", a.ID, err, billing.Message(err)))
	}
	link := LinkEntry{URL: l.URL, ExpiresAt: jsonTime(l.ExpiresAt)}
	return c.write(link, "Invoices, card and billing details on this secure Stripe page:\n"+link.URL+"\n")
}

func runEmail(c *Cmd) int {
	a, code, ok := c.accountWith(1, "one address expected")
	if !ok {
		return code
	}
	d, _ := c.Table.command(c.Name)
	email, err := tui.ValidateEmail(c.Args[0])
	if err != nil {
		return c.fail(1, err.Error())
	}
	if email == a.Email {
		return c.fail(1, "That is the account's address already.")
	}
	if !c.Yes {
		return c.usage(d, "add --yes to change the email from "+a.Email+" to "+email)
	}
	ctx, cancel := c.actionCtx()
	defer cancel()
	after, err := c.Table.cfg.Billing.ChangeEmail(ctx, a.ID, email, c.actor())
	if err != nil {
		return c.fail(1, c.Table.logged("email", a.ID, err, billing.Message(err)))
	}
	return c.write(struct {
		Changed bool   `json:"changed"`
		Email   string `json:"email"`
	}{true, after.Email}, "Your email is now "+after.Email+" (billing's too).\n")
}
