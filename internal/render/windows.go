package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// When renders an instant for people, in UTC: "04:00 UTC" on now's UTC day, else "2026-12-05 04:00 UTC"; seconds
// only when they are not zero ("14:03:27 UTC", as a window switched on by hand ends).
func When(t, now time.Time) string {
	t = t.UTC()
	layout := "15:04"
	if t.Second() != 0 {
		layout = "15:04:05"
	}
	if y, m, d := t.Date(); y != now.UTC().Year() || m != now.UTC().Month() || d != now.UTC().Day() {
		layout = "2006-01-02 " + layout
	}
	return t.Format(layout) + " UTC"
}

// Until renders the end of an occurrence: "until 04:00 UTC", or "open-ended" when it has none.
func Until(end *time.Time, now time.Time) string {
	if end == nil {
		return "open-ended"
	}
	return "until " + When(*end, now)
}

// windowName is `window shop/db-upgrade "Database upgrade"` (without the title when it has none).
func windowName(name, title string) string {
	if title == "" {
		return "window " + name
	}
	return fmt.Sprintf("window %s %q", name, title)
}

// ActiveWindow names an active window and its end: `window shop/db-upgrade "Database upgrade" until 04:00 UTC`.
func ActiveWindow(w snapshot.WindowBrief, now time.Time) string {
	return windowName(w.Name, w.Title) + " " + Until(w.End, now)
}

// Upcoming is the line of an upcoming window: `upcoming: window shop/db-upgrade "Database upgrade" from 02:00 UTC
// until 04:00 UTC (in 14h)`.
func Upcoming(w snapshot.WindowBrief, now time.Time) string {
	return fmt.Sprintf("upcoming: %s from %s %s (in %s)", windowName(w.Name, w.Title), When(w.Start, now),
		Until(w.End, now), Age(now, w.Start))
}

// Windows writes MaintenanceWindows (GET /windows objects) in the chosen format. The table shows the occurrence in
// focus: the current one while Active, else the next; "-" when there is none (Completed, Suspended, Invalid).
func Windows(w io.Writer, windows []snapshot.Window, opts Options) error {
	if windows == nil {
		windows = []snapshot.Window{}
	}
	switch opts.Format {
	case JSON:
		b, err := json.MarshalIndent(windows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case YAML:
		b, err := yaml.Marshal(windows)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	header := []string{"WINDOW", "PHASE", "START", "END", "TITLE"}
	if opts.Format == Wide {
		header = append(header, "CHECKERS", "SERVICES", "NEXT")
	}
	rows := make([][]string, 0, len(windows))
	for i := range windows {
		win := &windows[i]
		start, end, next := "-", "-", "-"
		focus, later := win.Current, win.Next
		if focus == nil && len(later) > 0 {
			focus, later = &later[0], later[1:]
		}
		if focus != nil {
			start, end = stamp(focus.Start), "open-ended"
			if focus.End != nil {
				end = stamp(*focus.End)
			}
		}
		if len(later) > 0 {
			next = stamp(later[0].Start)
		}
		row := []string{win.Name, win.Phase, start, end, win.Title}
		if opts.Format == Wide {
			services := strings.Join(win.Services, ",")
			if services == "" {
				services = "(all)"
			}
			row = append(row, strings.Join(win.Checkers, ","), services, next)
		}
		rows = append(rows, row)
	}
	return writeTable(w, header, rows)
}

// stamp is a table's time: RFC 3339 in UTC, as `kubectl get mwin` shows it.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Window change kinds of a watch line, from the active windows of consecutive /status answers.
const (
	ChangeWindowActive  = "window-active"  // active when the watch started
	ChangeWindowStarted = "window-started" // became active
	ChangeWindowEnded   = "window-ended"   // no longer active (ended, suspended, deleted, or out of view)
)

// WindowChange is a watch line about a window: the window as /status lists it (for an ended one, as it was last
// listed).
type WindowChange struct {
	Time time.Time `json:"time"`
	Kind string    `json:"change"`
	snapshot.WindowBrief
}

// WindowLine writes a window change as one line: human text, or one JSON object when asJSON.
func WindowLine(w io.Writer, c WindowChange, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var fields []string
	if c.Title != "" {
		fields = append(fields, fmt.Sprintf("%q", c.Title))
	}
	if c.Kind != ChangeWindowEnded {
		fields = append(fields, Until(c.End, c.Time))
	}
	fields = append(fields, "checkers="+strings.Join(c.Checkers, ","))
	if len(c.Services) > 0 {
		fields = append(fields, "services="+strings.Join(c.Services, ","))
	}
	_, err := fmt.Fprintf(w, "%s  %-9s  %-32s  %s\n", c.Time.UTC().Format(time.RFC3339), c.Kind, c.Name,
		strings.Join(fields, "  "))
	return err
}
