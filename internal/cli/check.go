package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mamrezb/maintenance-window-manager/internal/render"
)

func newCheckCommand(o *options) *cobra.Command {
	var wait, interval time.Duration
	var allowStale bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Exit 0 when no critical Service is down, 1 when in maintenance (for scripts and pipelines)",
		Long: `check prints the one-line summary of the selected Services and exits 0 when no critical one is down,
1 when in maintenance. With --wait it looks again every --interval until the maintenance ends (exit 0) or the
time is up (exit 4); read errors while waiting are retried until then. An answer the API marks stale (its replica
lost contact with the Kubernetes API) is an error (exit 3) unless --allow-stale.

` + exitCodesHelp,
		Example: `  mwmctl check                              # one line, exit code 0 or 1
  mwmctl check --checker shop/storefront    # only the Services of one ServiceChecker
  mwmctl check --wait 5m                    # block a deploy until out of maintenance (exit 4 on timeout)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if wait < 0 || interval <= 0 {
				return withCode(ExitUsage, fmt.Errorf("--wait (%s) must not be negative and --interval (%s) must be "+
					"positive", wait, interval))
			}
			sel, src, err := o.selection(nil, false, false)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			waitCtx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			for {
				listCtx := ctx
				if wait > 0 {
					listCtx = waitCtx
				}
				view, err := src.List(listCtx, sel)
				entries := view.Entries
				if err == nil && view.Freshness.Stale && !allowStale {
					// Stale data may hide a maintenance that began since: no answer, unless the user accepts it.
					err = fmt.Errorf("stale data: %s; pass --allow-stale to accept it",
						render.StaleMessage(view.Freshness, o.io.Now()))
				}
				switch {
				case err != nil && wait > 0 && waitCtx.Err() == nil:
					// While waiting, a restarting manager or a network blip is not the answer: retry until the deadline.
					_, _ = fmt.Fprintf(o.io.Err, "retrying: %v\n", err)
				case err != nil && waitCtx.Err() != nil && ctx.Err() == nil && wait > 0:
					return withCode(ExitTimeout, fmt.Errorf("no answer within --wait %s: %w", wait, err))
				case err != nil:
					return withCode(ExitSource, err)
				default:
					if len(entries) == 0 && sel.Empty() {
						return withCode(ExitSource, errors.New("no ServiceChecker watches any Service yet: there is "+
							"nothing to check; create a ServiceChecker listing your Services first"))
					}
					if len(entries) == 0 {
						// An empty selection is no answer: a typo in -n must not read as "no maintenance".
						return withCode(ExitSource, fmt.Errorf("no watched Service matches %s; check the flags for a "+
							"typo (mwmctl status -o wide shows every Service and its CHECKERS)", describe(sel)))
					}
					_, _ = fmt.Fprintln(o.io.Out, render.Summary(view.Status, view.Entries, o.io.Now()))
					if !view.Status.Maintenance {
						return nil
					}
					if wait <= 0 {
						return withCode(ExitMaintenance, errors.New("in maintenance"))
					}
				}
				select {
				case <-ctx.Done():
					return withCode(ExitInterrupted, errors.New("interrupted"))
				case <-waitCtx.Done():
					return withCode(ExitTimeout, fmt.Errorf("still in maintenance after --wait %s", wait))
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the maintenance to end")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to look again while waiting")
	cmd.Flags().BoolVar(&allowStale, "allow-stale", false, "accept an answer the API marks stale (no contact with "+
		"the Kubernetes API for longer than its --stale-after) instead of exiting 3")
	return cmd
}
