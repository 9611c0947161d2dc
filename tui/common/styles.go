package common

import "github.com/charmbracelet/lipgloss"

// Styles holds every style the screens use, built for one session's renderer
// so that colour follows that client's terminal (and NO_COLOR or TERM=dumb
// give plain text). No style relies on colour alone: focus and selection also
// carry a marker or bold text.
type Styles struct {
	App      lipgloss.Style
	Title    lipgloss.Style
	Subtle   lipgloss.Style
	Label    lipgloss.Style
	Value    lipgloss.Style
	Error    lipgloss.Style
	OK       lipgloss.Style
	Warn     lipgloss.Style
	Banner   lipgloss.Style
	Focused  lipgloss.Style
	Blurred  lipgloss.Style
	Selected lipgloss.Style
	Help     lipgloss.Style
	Box      lipgloss.Style
}

// subtleColor is the colour of labels, help and hints: at least 4.5:1
// against the usual dark (#000) and light (#FFF) backgrounds (#5C5C5C,
// ANSI 59, was 3:1 on black; #9B9B9B 2.8:1 on white).
var subtleColor = lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8A8A8A"}

// NewStyles builds the styles for renderer r.
func NewStyles(r *lipgloss.Renderer) *Styles {
	accent := lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#7571F9"}
	subtle := subtleColor
	red := lipgloss.AdaptiveColor{Light: "#D52F2F", Dark: "#FF6B6B"}
	green := lipgloss.AdaptiveColor{Light: "#1E8A3A", Dark: "#5CD38A"}
	amber := lipgloss.AdaptiveColor{Light: "#A86B00", Dark: "#F2B84B"}
	return &Styles{
		App:      r.NewStyle().Padding(1, 2),
		Title:    r.NewStyle().Bold(true).Foreground(accent),
		Subtle:   r.NewStyle().Foreground(subtle),
		Label:    r.NewStyle().Foreground(subtle).Width(14),
		Value:    r.NewStyle(),
		Error:    r.NewStyle().Foreground(red),
		OK:       r.NewStyle().Foreground(green),
		Warn:     r.NewStyle().Foreground(amber),
		Banner:   r.NewStyle().Bold(true).Foreground(amber),
		Focused:  r.NewStyle().Bold(true).Foreground(accent),
		Blurred:  r.NewStyle().Foreground(subtle),
		Selected: r.NewStyle().Bold(true).Foreground(accent),
		Help:     r.NewStyle().Foreground(subtle),
		Box:      r.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(subtle).Padding(0, 1),
	}
}
