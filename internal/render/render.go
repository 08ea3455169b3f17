package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	for _, e := range entries {
		row := []string{e.Namespace, e.Name, yesNo(e.Ready, opts.Color, true), yesNo(e.Critical, false, false),
			fmt.Sprint(e.ReadyEndpoints), Age(e.Since, opts.Now)}
		if opts.Format == Wide {
			row = append(row, yesNo(e.Maintenance, false, false), e.Reason, strings.Join(e.Checkers, ","))
		}
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
	_, err := fmt.Fprintln(w, Summary(opts.Status))
	return err
}

// Summary is the one-line verdict of a /status answer, e.g. "3 services, 1 critical not ready: maintenance
// (shop/checkout)".
func Summary(s snapshot.Summary) string {
	noun := "services"
	if s.Services == 1 {
		noun = "service"
	}
	windows := make([]string, 0, len(s.Windows.Active))
	for _, w := range s.Windows.Active {
		windows = append(windows, "window "+w.Name)
	}
	switch notReady := s.Services - s.Ready; {
	case s.Maintenance && len(s.CriticalNotReady) == 0:
		return fmt.Sprintf("%d %s, %d not ready: maintenance (%s)", s.Services, noun, notReady,
			strings.Join(windows, ", "))
	case s.Maintenance:
		return fmt.Sprintf("%d %s, %d critical not ready: maintenance (%s)", s.Services, noun,
			len(s.CriticalNotReady), strings.Join(append(s.CriticalNotReady, windows...), ", "))
	case notReady > 0:
		return fmt.Sprintf("%d %s, %d not ready, none in maintenance: no maintenance", s.Services, noun, notReady)
	default:
		return fmt.Sprintf("%d %s, all ready: no maintenance", s.Services, noun)
	}
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
