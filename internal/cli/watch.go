package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/mamrezb/maintenance-window-manager/internal/render"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/source"
)

func newWatchCommand(o *options) *cobra.Command {
	var output string
	var critical bool
	cmd := &cobra.Command{
		Use:   "watch [SERVICE...]",
		Short: "Follow readiness changes and maintenance windows live, one line per transition (Ctrl-C to stop)",
		Long: `watch prints one line per transition of the selected Services (initial, added, ready, not-ready, changed,
removed) and of the MaintenanceWindows active in view: window-active for those active when the watch starts,
window-started and window-ended as they begin and end (or are suspended, deleted or moved out of view).`,
		Example: `  mwmctl watch                    # Kubernetes watch on ServiceCheckers through your kubeconfig
  mwmctl watch --critical -o json # one JSON object per line, for a log pipeline
  mwmctl watch --api-url https://mwm.example.com:8443 --api-ca-file ca.crt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON := false
			switch output {
			case "":
			case "json":
				asJSON = true
			default:
				return withCode(ExitUsage, errUnknownWatchFormat(output))
			}
			sel, src, err := o.selection(args, critical, false)
			if err != nil {
				return err
			}
			var prev map[string]snapshot.Entry
			var active map[string]snapshot.WindowBrief // nil until a /status answer is known
			var stale *bool
			var writeErr error
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			err = src.Watch(ctx, sel, func(view source.View) {
				if f := view.Freshness; stale == nil && f.Stale || stale != nil && *stale != f.Stale {
					if err := render.FreshnessLine(o.io.Out, o.io.Now(), f, asJSON); err != nil && writeErr == nil {
						writeErr = fmt.Errorf("write to stdout: %w", err)
						stop()
					}
				}
				stale = &view.Freshness.Stale
				entries := view.Entries
				next := map[string]snapshot.Entry{}
				for _, e := range entries {
					next[e.Key()] = e
				}
				for _, c := range changes(prev, next, entries) {
					c.Time = o.io.Now()
					if err := render.WatchLine(o.io.Out, c, asJSON, o.color()); err != nil && writeErr == nil {
						writeErr = fmt.Errorf("write to stdout: %w", err)
						stop() // nobody reads us any more (closed pipe): end the watch
					}
				}
				prev = next
				if !view.StatusKnown {
					return
				}
				current := make(map[string]snapshot.WindowBrief, len(view.Status.Windows.Active))
				for _, w := range view.Status.Windows.Active {
					current[w.Name] = w
				}
				for _, c := range windowChanges(active, current, view.Status.Windows.Active) {
					c.Time = o.io.Now()
					if err := render.WindowLine(o.io.Out, c, asJSON); err != nil && writeErr == nil {
						writeErr = fmt.Errorf("write to stdout: %w", err)
						stop()
					}
				}
				active = current
			})
			if writeErr != nil {
				return withCode(ExitSource, writeErr)
			}
			if err != nil {
				return withCode(ExitSource, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "json prints one JSON object per line (default: text lines)")
	cmd.Flags().BoolVar(&critical, "critical", false, "only critical Services")
	return cmd
}

// changes lists the transitions from prev to next (ordered as in ordered, then removals); prev nil means the watch
// just started.
func changes(prev, next map[string]snapshot.Entry, ordered []snapshot.Entry) []render.Change {
	var out []render.Change
	for _, e := range ordered {
		old, seen := prev[e.Key()]
		switch {
		case prev == nil:
			out = append(out, render.Change{Kind: render.ChangeInitial, Entry: e})
		case !seen:
			out = append(out, render.Change{Kind: render.ChangeAdded, Entry: e})
		case old.Ready && !e.Ready:
			out = append(out, render.Change{Kind: render.ChangeNotReady, Entry: e})
		case !old.Ready && e.Ready:
			out = append(out, render.Change{Kind: render.ChangeReady, Entry: e})
		case old.Reason != e.Reason || old.Critical != e.Critical || old.Maintenance != e.Maintenance ||
			old.Window != e.Window:
			out = append(out, render.Change{Kind: render.ChangeUpdated, Entry: e})
		}
	}
	var removed []string
	for key := range prev {
		if _, ok := next[key]; !ok {
			removed = append(removed, key)
		}
	}
	sort.Strings(removed)
	for _, key := range removed {
		out = append(out, render.Change{Kind: render.ChangeRemoved, Entry: prev[key]})
	}
	return out
}

// windowChanges lists the windows that became active (in the order of ordered) and those no longer active (by
// name) from prev to next; prev nil means the watch just learned the windows: those active are listed as such.
func windowChanges(prev, next map[string]snapshot.WindowBrief, ordered []snapshot.WindowBrief) []render.WindowChange {
	var out []render.WindowChange
	for _, w := range ordered {
		if _, was := prev[w.Name]; !was {
			kind := render.ChangeWindowStarted
			if prev == nil {
				kind = render.ChangeWindowActive
			}
			out = append(out, render.WindowChange{Kind: kind, WindowBrief: w})
		}
	}
	var ended []string
	for name := range prev {
		if _, ok := next[name]; !ok {
			ended = append(ended, name)
		}
	}
	sort.Strings(ended)
	for _, name := range ended {
		out = append(out, render.WindowChange{Kind: render.ChangeWindowEnded, WindowBrief: prev[name]})
	}
	return out
}

type errUnknownWatchFormat string

func (e errUnknownWatchFormat) Error() string {
	return "unknown output format " + `"` + string(e) + `"` + " for watch -o: use json (or omit -o for text lines)"
}
