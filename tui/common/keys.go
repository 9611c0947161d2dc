package common

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap is every key binding of the portal, customer screens and ops view
// alike, declared once (soft-serve's pkg/ui/keymap): a screen copies the
// ones it answers to from Common.Keys and reports them in its Bindings, so
// the help line shows only what that screen binds. A binding is a value:
// enabling, disabling or rewording a screen's copy leaves the map alone.
// Bindings declared disabled here start disabled on every screen (they
// wait for something: a link, a selection); Disabled gives a disabled copy
// of one that is not.
//
// The same words on the same keys are one binding; a key that means
// something else on another screen (n is "new link" here, "keep it"
// there) is another.
type KeyMap struct {
	// Every screen.
	Quit      key.Binding // q, ctrl+c
	Help      key.Binding // ? for the full help
	More      key.Binding // ? on a help line that had to leave keys out (ops)
	CtrlCQuit key.Binding // quit where q is a letter (a text field)

	// Customer: dashboard actions (the locked screen offers card, billing
	// and plan with the same keys).
	AddCard    key.Binding // c card
	ConfirmPay key.Binding // o confirm a payment the bank holds
	ChangePlan key.Binding // p plan (reworded "upgrade" on Free)
	CancelPlan key.Binding // x cancel
	Undo       key.Binding // u undo cancel / undo change
	Manage     key.Binding // b billing portal
	Invoices   key.Binding // i invoices
	Keys       key.Binding // k SSH keys
	Email      key.Binding // e email
	Dismiss    key.Binding // d dismiss banners
	FreePlan   key.Binding // f free (locked)

	// Customer: moving and leaving.
	Back        key.Binding // esc back
	BackOrNo    key.Binding // esc or n, back (change plan)
	MoveUp      key.Binding // ↑/k, "↑/↓ move" (invoices)
	ChooseUp    key.Binding // ↑/k, "↑/↓ choose" (keys)
	MoveDown    key.Binding // ↓/j, help shown by the Up beside it
	CycleUp     key.Binding // ↑/shift+tab, "↑/↓ move" (plans, locked)
	CycleDown   key.Binding // ↓/tab, help shown by CycleUp
	Choose      key.Binding // enter choose
	Pick        key.Binding // 1-9 pick; PickHelp words it for the plans shown
	Continue    key.Binding // enter continue (a card landed)
	NewLink     key.Binding // n new link (disabled until a link is in)
	QR          key.Binding // v QR code (disabled until a link is in)
	OpenLink    key.Binding // enter link (an invoice's page; disabled)
	Retry       key.Binding // r retry (disabled)
	ConfirmPlan key.Binding // enter or y, confirm a plan change (disabled)

	// Customer: confirmations.
	ConfirmCancel key.Binding // y cancel plan
	KeepPlan      key.Binding // n/esc keep plan
	SwitchFree    key.Binding // y switch to Free (locked)
	KeepChoosing  key.Binding // n/esc keep choosing (locked)
	LinkKey       key.Binding // l link a new key
	RemoveKey     key.Binding // d remove a key
	RemoveYes     key.Binding // y remove it
	RemoveNo      key.Binding // n/esc keep it
	LabelKey      key.Binding // e edit the chosen key's label
	SaveLabel     key.Binding // enter save the label
	CancelLabel   key.Binding // esc cancel

	// Customer: text fields.
	ChangeEmail  key.Binding // enter change
	Register     key.Binding // enter register
	HaveCode     key.Binding // tab have a code?
	LinkWithCode key.Binding // enter link
	RegisterInst key.Binding // tab register instead

	// Ops: the frame.
	Tabs key.Binding // 1-6/tab screens; TabsFor limits it to the tabs shown

	// Ops: lists (accounts, webhooks).
	ListUp       key.Binding // ↑/k up
	ListDown     key.Binding // ↓/j down
	PageUp       key.Binding // pgup page up
	PageDown     key.Binding // pgdn page down
	First        key.Binding // g first
	Last         key.Binding // G last
	PageHelp     key.Binding // pgup/pgdn page, the help for PageUp and PageDown
	EndsHelp     key.Binding // g/G first/last, the help for First and Last
	Open         key.Binding // enter open
	Search       key.Binding // / search
	StateFilter  key.Binding // s/S state filter
	PlanFilter   key.Binding // p/P plan filter
	ClearFilters key.Binding // c clear filters
	SortColumn   key.Binding // ←/→ sort column
	Reverse      key.Binding // r reverse
	DoneText     key.Binding // enter/esc done (esc clears)

	// Ops: audit pages.
	Older  key.Binding // pgdn/n older
	Newer  key.Binding // pgup/p newer
	Newest key.Binding // g newest

	// Ops: mail outbox. Its cursor moves with j/k (ListUp, ListDown), so
	// its pages turn with pgdn/pgup and n/p only; g is Newest.
	MailOlder  key.Binding // pgdn/n older
	MailNewer  key.Binding // pgup/p newer
	ResendMail key.Binding // r re-send

	// Ops: sandbox clock.
	AddHour key.Binding // h +1 hour
	AddDay  key.Binding // d +1 day
	AddDays key.Binding // n +N days

	// Ops: account detail.
	DetailBack   key.Binding // esc (or backspace) back
	ScrollUp     key.Binding // ↑/↓ scroll
	ScrollDown   key.Binding // help shown by ScrollUp
	ExtendTrial  key.Binding // e extend trial
	Resync       key.Binding // r resync
	ReplacePlan  key.Binding // p change plan
	MoveToFree   key.Binding // f move to free
	CancelAtEnd  key.Binding // x cancel at period end
	ResendNotice key.Binding // n re-send notice
	CancelSecond key.Binding // d cancel 2nd subscription
	RemoveOneKey key.Binding // K remove a key
	RetryFailed  key.Binding // r retry failed (webhooks)
	EventOpen    key.Binding // enter details (webhooks)
	EventClose   key.Binding // esc back to the list (webhooks)
	OnlyFailed   key.Binding // f only failed (webhooks)
	DialogNext   key.Binding // enter next
	DialogCancel key.Binding // esc cancel
	DialogChoose key.Binding // ↑/↓ choose
	DialogYes    key.Binding // y yes
	DialogNo     key.Binding // n no
}

// NewKeyMap returns the portal's bindings.
func NewKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	ks := func(keys ...string) []string { return keys }
	off := func(b key.Binding) key.Binding { return Disabled(b) }
	return KeyMap{
		Quit:      b(ks("q", "ctrl+c"), "q", "quit"),
		Help:      b(ks("?"), "?", "help"),
		More:      b(ks("?"), "?", "more"),
		CtrlCQuit: b(ks("ctrl+c"), "ctrl+c", "quit"),

		AddCard:    b(ks("c"), "c", "card"),
		ConfirmPay: b(ks("o"), "o", "confirm"),
		ChangePlan: b(ks("p"), "p", "plan"),
		CancelPlan: b(ks("x"), "x", "cancel"),
		Undo:       b(ks("u"), "u", "undo cancel"),
		Manage:     b(ks("b"), "b", "billing"),
		Invoices:   b(ks("i"), "i", "invoices"),
		Keys:       b(ks("k"), "k", "keys"),
		Email:      b(ks("e"), "e", "email"),
		Dismiss:    b(ks("d"), "d", "dismiss"),
		FreePlan:   b(ks("f"), "f", "free"),

		Back:        b(ks("esc"), "esc", "back"),
		BackOrNo:    b(ks("esc", "n"), "esc", "back"),
		MoveUp:      b(ks("up", "k"), "↑/↓", "move"),
		ChooseUp:    b(ks("up", "k"), "↑/↓", "choose"),
		MoveDown:    key.NewBinding(key.WithKeys("down", "j")),
		CycleUp:     b(ks("up", "shift+tab"), "↑/↓", "move"),
		CycleDown:   key.NewBinding(key.WithKeys("down", "tab")),
		Choose:      b(ks("enter"), "enter", "choose"),
		Pick:        b(ks("1", "2", "3", "4", "5", "6", "7", "8", "9"), "1-9", "pick"),
		Continue:    off(b(ks("enter"), "enter", "continue")),
		NewLink:     off(b(ks("n"), "n", "new link")),
		QR:          b(ks("v"), "v", "QR code"),
		OpenLink:    off(b(ks("enter"), "enter", "link")),
		Retry:       off(b(ks("r"), "r", "retry")),
		ConfirmPlan: off(b(ks("enter", "y"), "enter", "confirm")),

		ConfirmCancel: b(ks("y", "enter"), "y", "cancel plan"),
		KeepPlan:      b(ks("n", "esc"), "n/esc", "keep plan"),
		SwitchFree:    b(ks("y", "enter"), "y", "switch to Free"),
		KeepChoosing:  b(ks("n", "esc"), "n/esc", "keep choosing"),
		LinkKey:       b(ks("l"), "l", "link a new key"),
		RemoveKey:     b(ks("d", "delete"), "d", "remove"),
		RemoveYes:     b(ks("y"), "y", "remove it"),
		RemoveNo:      b(ks("n", "esc"), "n/esc", "keep it"),
		LabelKey:      b(ks("e"), "e", "label"),
		SaveLabel:     b(ks("enter"), "enter", "save label"),
		CancelLabel:   b(ks("esc"), "esc", "cancel"),

		ChangeEmail:  b(ks("enter"), "enter", "change"),
		Register:     b(ks("enter"), "enter", "register"),
		HaveCode:     b(ks("tab"), "tab", "have a code?"),
		LinkWithCode: b(ks("enter"), "enter", "link"),
		RegisterInst: b(ks("tab"), "tab", "register instead"),

		Tabs: b(ks("tab", "shift+tab", "1", "2", "3", "4", "5", "6"), "1-6/tab", "screens"),

		ListUp:       b(ks("up", "k"), "↑/k", "up"),
		ListDown:     b(ks("down", "j"), "↓/j", "down"),
		PageUp:       b(ks("pgup", "ctrl+b"), "pgup", "page up"),
		PageDown:     b(ks("pgdown", "ctrl+f", " "), "pgdn", "page down"),
		First:        b(ks("home", "g"), "g", "first"),
		Last:         b(ks("end", "G"), "G", "last"),
		PageHelp:     b(ks("pgup", "pgdown"), "pgup/pgdn", "page"),
		EndsHelp:     b(ks("g", "G"), "g/G", "first/last"),
		Open:         b(ks("enter"), "enter", "open"),
		Search:       b(ks("/"), "/", "search"),
		StateFilter:  b(ks("s", "S"), "s/S", "state filter"),
		PlanFilter:   b(ks("p", "P"), "p/P", "plan filter"),
		ClearFilters: b(ks("c"), "c", "clear filters"),
		SortColumn:   b(ks("left", "right", "h", "l"), "←/→", "sort column"),
		Reverse:      b(ks("r"), "r", "reverse"),
		DoneText:     b(ks("enter", "esc"), "enter/esc", "done (esc clears)"),

		Older:  b(ks("pgdown", "ctrl+f", " ", "n", "j", "down"), "pgdn/n", "older"),
		Newer:  b(ks("pgup", "ctrl+b", "p", "k", "up"), "pgup/p", "newer"),
		Newest: b(ks("g", "home"), "g", "newest"),

		MailOlder:  b(ks("pgdown", "ctrl+f", " ", "n"), "pgdn/n", "older"),
		MailNewer:  b(ks("pgup", "ctrl+b", "p"), "pgup/p", "newer"),
		ResendMail: b(ks("r"), "r", "re-send"),

		AddHour: b(ks("h"), "h", "+1 hour"),
		AddDay:  b(ks("d"), "d", "+1 day"),
		AddDays: b(ks("n"), "n", "+N days"),

		DetailBack:   b(ks("esc", "backspace"), "esc", "back"),
		ScrollUp:     b(ks("up", "k", "pgup"), "↑/↓", "scroll"),
		ScrollDown:   key.NewBinding(key.WithKeys("down", "j", "pgdown", " ")),
		ExtendTrial:  b(ks("e"), "e", "extend trial"),
		Resync:       b(ks("r"), "r", "resync"),
		ReplacePlan:  b(ks("p"), "p", "change plan"),
		MoveToFree:   b(ks("f"), "f", "move to free"),
		CancelAtEnd:  b(ks("x"), "x", "cancel at period end"),
		ResendNotice: b(ks("n"), "n", "re-send notice"),
		CancelSecond: b(ks("d"), "d", "cancel 2nd subscription"),
		RemoveOneKey: b(ks("K"), "K", "remove a key"),
		RetryFailed:  b(ks("r"), "r", "retry failed"),
		EventOpen:    b(ks("enter"), "enter", "details"),
		EventClose:   b(ks("esc", "enter"), "esc", "back to the list"),
		OnlyFailed:   b(ks("f"), "f", "only failed"),
		DialogNext:   b(ks("enter"), "enter", "next"),
		DialogCancel: b(ks("esc"), "esc", "cancel"),
		DialogChoose: b(ks("up", "down"), "↑/↓", "choose"),
		DialogYes:    b(ks("y"), "y", "yes"),
		DialogNo:     b(ks("n", "esc"), "n", "no"),
	}
}

// Disabled is a disabled copy of b, for a screen where it waits for
// something before it applies.
func Disabled(b key.Binding) key.Binding {
	b.SetEnabled(false)
	return b
}

// PickHelp is the Pick binding worded for n choices ("1-3 pick").
func PickHelp(b key.Binding, n int) key.Binding {
	b.SetHelp("1-"+fmt.Sprint(min(n, 9)), "pick")
	return b
}

// TabsFor is the Tabs binding for a session with n tabs: tab, shift+tab
// and the digits 1-n, worded "1-n/tab".
func TabsFor(b key.Binding, n int) key.Binding {
	keys := []string{"tab", "shift+tab"}
	for i := range n {
		keys = append(keys, fmt.Sprint(i+1))
	}
	b.SetKeys(keys...)
	b.SetHelp(fmt.Sprintf("1-%d/tab", n), "screens")
	return b
}

// FoldedKeys reports whether msg is several printable keys folded into one:
// Bubble Tea v1 reports every rune of one read as one message ("jjj",
// "kl"), while screens match keys one at a time. A bracketed paste is not.
func FoldedKeys(msg tea.KeyMsg) bool {
	return msg.Type == tea.KeyRunes && !msg.Paste && len(msg.Runes) > 1
}

// SplitKeys returns msg as one message per rune when FoldedKeys, else msg
// alone.
func SplitKeys(msg tea.KeyMsg) []tea.KeyMsg {
	if !FoldedKeys(msg) {
		return []tea.KeyMsg{msg}
	}
	out := make([]tea.KeyMsg, len(msg.Runes))
	for i, r := range msg.Runes {
		out[i] = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
	}
	return out
}
