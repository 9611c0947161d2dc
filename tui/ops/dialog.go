package ops

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/portal/portal/tui/common"
)

// dialogStage is where an action is on its way to being run.
type dialogStage int

const (
	stageNumber  dialogStage = iota // asking for a number of days
	stagePick                       // choosing one of several variants
	stageConfirm                    // asking yes or no
)

// dialog takes an action from the key that started it to the admin's "y":
// an optional number or choice first, then always an explicit confirmation.
// Nothing runs until "y"; esc or "n" drops it.
type dialog struct {
	stage dialogStage
	title string
	act   action

	// stageNumber: the number becomes apply(act, n).
	input common.TextInput
	def   int
	min   int
	max   int
	apply func(a action, n int) action
	err   string

	// stagePick: each option is the complete action it stands for.
	options []action
	labels  []string
	cursor  int
}

// confirmDialog asks to confirm a.
func confirmDialog(a action) *dialog { return &dialog{stage: stageConfirm, act: a} }

// numberDialog asks for a whole number in [min, max], then to confirm. The
// default shows as a placeholder, taken by a bare enter: a prefilled value
// would turn a typed 31 into 331.
func numberDialog(title string, a action, def, min, max int, apply func(action, int) action) (*dialog, tea.Cmd) {
	in := newInput(title+" ", strconv.Itoa(def), 4)
	cmd := in.Focus()
	return &dialog{stage: stageNumber, title: title, act: a, input: in, def: def, min: min, max: max, apply: apply}, cmd
}

// pickDialog asks which of options to run, then to confirm it.
func pickDialog(title string, options []action, labels []string, cursor int) *dialog {
	return &dialog{stage: stagePick, title: title, options: options, labels: labels, cursor: cursor}
}

// runActionMsg asks the model to run a confirmed action.
type runActionMsg struct{ act action }

// update handles a key; done means the dialog is finished (cancelled or
// confirmed, in which case the command delivers runActionMsg).
func (d *dialog) update(msg tea.KeyMsg) (done bool, cmd tea.Cmd) {
	if msg.String() == "esc" {
		return true, nil
	}
	switch d.stage {
	case stageNumber:
		if msg.String() == "enter" {
			v := strings.TrimSpace(d.input.Value())
			n, err := d.def, error(nil)
			if v != "" {
				n, err = strconv.Atoi(v)
			}
			if err != nil || n < d.min || n > d.max {
				d.err = fmt.Sprintf("Enter a whole number from %d to %d.", d.min, d.max)
				return false, nil
			}
			d.act = d.apply(d.act, n)
			d.stage = stageConfirm
			d.input.Blur()
			return false, nil
		}
		d.err = ""
		d.input, cmd = d.input.Update(msg)
		return false, cmd
	case stagePick:
		switch msg.String() {
		case "up", "k":
			if d.cursor > 0 {
				d.cursor--
			}
		case "down", "j":
			if d.cursor < len(d.options)-1 {
				d.cursor++
			}
		case "enter":
			d.act = d.options[d.cursor]
			d.stage = stageConfirm
		}
		return false, nil
	}
	switch msg.String() {
	case "y", "Y":
		a := d.act
		return true, func() tea.Msg { return runActionMsg{act: a} }
	case "n", "N", "q":
		return true, nil
	}
	return false, nil
}

// takesText reports whether printable keys go to the dialog's input.
func (d *dialog) takesText() bool { return d.stage == stageNumber }

// view draws the dialog in a box at most width cells wide; a long prompt
// wraps inside it.
func (d *dialog) view(s *common.Styles, width int) string {
	inner := max(width-4, 10) // the box's border and padding
	var b strings.Builder
	switch d.stage {
	case stageNumber:
		b.WriteString(d.input.View())
		if d.err != "" {
			b.WriteString("\n" + s.Error.Render(d.err))
		}
	case stagePick:
		b.WriteString(s.Title.Render(d.title))
		for i, l := range d.labels {
			b.WriteString("\n")
			if i == d.cursor {
				b.WriteString(s.Selected.Render("> " + l))
			} else {
				b.WriteString("  " + l)
			}
		}
	case stageConfirm:
		b.WriteString(s.Warn.Render(strings.Join(wrapLines(d.act.prompt(), inner), "\n")))
		b.WriteString("\n" + s.Subtle.Render("y: yes, do it   n/esc: no"))
	}
	return s.Box.Render(b.String())
}

func (d *dialog) bindings(k *common.KeyMap) []key.Binding {
	switch d.stage {
	case stageNumber:
		return []key.Binding{k.DialogNext, k.DialogCancel}
	case stagePick:
		return []key.Binding{k.DialogChoose, k.DialogNext, k.DialogCancel}
	}
	return []key.Binding{k.DialogYes, k.DialogNo}
}
