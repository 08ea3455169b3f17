package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// Format is an output format of `mwmctl status`.
type Format string

// The output formats.
const (
	Table Format = ""
	Wide  Format = "wide"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

// ParseFormat validates the value of -o.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Table, Wide, JSON, YAML:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q for -o: use wide, json or yaml (or omit -o for a table)", s)
}

// Options shape the output.
type Options struct {
	Format Format
	// Color paints ready and not-ready cells; only for terminals.
	Color bool
	// Now is the reference time for ages.
	Now time.Time
	// Status is the /status answer of the same selection, for the table's summary line.
	Status snapshot.Summary
}

const (
	green = "\x1b[32m"
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

// Services writes entries in the chosen format. Tables end with the summary line.
func Services(w io.Writer, entries []snapshot.Entry, opts Options) error {
	switch opts.Format {
	case JSON:
		if entries == nil {
			entries = []snapshot.Entry{}
		}
		b, err := json.MarshalIndent(entries, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case YAML:
		if entries == nil {
			entries = []snapshot.Entry{}
		}
		b, err := yaml.Marshal(entries)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}

	header := []string{"NAMESPACE", "SERVICE", "READY", "CRITICAL", "ENDPOINTS", "SINCE"}
	if opts.Format == Wide {
		header = append(header, "MAINTENANCE", "REASON", "CHECKERS")
	}
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		row := []string{e.Namespace, e.Name, yesNo(e.Ready, opts.Color, true), yesNo(e.Critical, false, false),
			fmt.Sprint(e.ReadyEndpoints), Age(e.Since, opts.Now)}
		if opts.Format == Wide {
			row = append(row, yesNo(e.Maintenance, false, false), e.Reason, strings.Join(e.Checkers, ","))
		}
		rows = append(rows, row)
	}
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w, Summary(opts.Status, entries, opts.Now)); err != nil {
		return err
	}
	// Upcoming windows follow the summary, one line each: what a frontend would announce in a banner.
	for _, u := range opts.Status.Windows.Upcoming {
		if _, err := fmt.Fprintln(w, Upcoming(u, opts.Now)); err != nil {
			return err
		}
	}
	return nil
}

// writeTable writes a kubectl-style table: left-aligned columns three blanks apart, no borders, no trailing blanks.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	table := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Separators: tw.SeparatorsNone, Lines: tw.LinesNone},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "   "}},
			},
			Row: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "   "}},
			},
		}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	table.Header(toAny(header)...)
	for _, row := range rows {
		if err := table.Append(toAny(row)...); err != nil {
			return err
		}
	}
	if err := table.Render(); err != nil {
		return err
	}
	// The renderer pads the last column; trailing blanks only get in the way of diffs and terminals.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// Summary is the one-line verdict of a /status answer at now, e.g. "3 services, 1 critical not ready: maintenance
// (shop/checkout)", or during a window "2 services, all ready: in maintenance: window shop/db-upgrade "Database
// upgrade" until 04:00 UTC". Every active window is named with its end; entries (the Services of the same view) tell
// a window that covers a critical Service, and so causes the maintenance, from one that covers none.
func Summary(s snapshot.Summary, entries []snapshot.Entry, now time.Time) string {
	line := summary(s, entries, now)
	if len(s.Pending) > 0 {
		// Within their grace period: not maintenance yet, but it will be unless they recover.
		pending := make([]string, 0, len(s.Pending))
		for _, p := range s.Pending {
			pending = append(pending, p.Service+" until "+p.Until.UTC().Format("15:04:05")+" UTC")
		}
		line += fmt.Sprintf("; %d critical pending (grace period): %s", len(s.Pending), strings.Join(pending, ", "))
	}
	return line
}

func summary(s snapshot.Summary, entries []snapshot.Entry, now time.Time) string {
	noun := "services"
	if s.Services == 1 {
		noun = "service"
	}
	notReady := s.Services - s.Ready
	if len(s.Windows.Active) > 0 {
		counts := "all ready"
		switch {
		case len(s.CriticalNotReady) > 0:
			counts = fmt.Sprintf("%d critical not ready", len(s.CriticalNotReady))
		case notReady > 0:
			counts = fmt.Sprintf("%d not ready", notReady)
		}
		causes := slices.Clone(s.CriticalNotReady)
		var others []string
		for _, w := range s.Windows.Active {
			if s.Maintenance && coversCritical(w, entries) {
				causes = append(causes, ActiveWindow(w, now))
			} else {
				others = append(others, ActiveWindow(w, now)+" covers no critical Service")
			}
		}
		if !s.Maintenance {
			return fmt.Sprintf("%d %s, %s: no maintenance (%s)", s.Services, noun, counts, strings.Join(others, "; "))
		}
		return fmt.Sprintf("%d %s, %s: in maintenance: %s", s.Services, noun, counts,
			strings.Join(append(causes, others...), "; "))
	}
	switch {
	case s.Maintenance:
		return fmt.Sprintf("%d %s, %d critical not ready: maintenance (%s)", s.Services, noun,
			len(s.CriticalNotReady), strings.Join(s.CriticalNotReady, ", "))
	case notReady > 0:
		return fmt.Sprintf("%d %s, %d not ready, none in maintenance: no maintenance", s.Services, noun, notReady)
	default:
		return fmt.Sprintf("%d %s, all ready: no maintenance", s.Services, noun)
	}
}

// coversCritical reports whether an active window puts the view in maintenance: it covers its ServiceCheckers whole,
// or lists a Service that is critical in entries (or entries are unknown).
func coversCritical(w snapshot.WindowBrief, entries []snapshot.Entry) bool {
	if len(w.Services) == 0 || entries == nil {
		return true
	}
	return slices.ContainsFunc(entries, func(e snapshot.Entry) bool {
		return e.Critical && slices.Contains(w.Services, e.Key())
	})
}

// Age renders the time since t like kubectl does ("5m", "3h2m", "<unknown>").
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

func yesNo(b, color, goodWhenTrue bool) string {
	s := "no"
	if b {
		s = "yes"
	}
	if !color {
		return s
	}
	if b == goodWhenTrue {
		return green + s + reset
	}
	return red + s + reset
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
