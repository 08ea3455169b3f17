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
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Exit 0 when no critical Service is down, 1 when in maintenance (for scripts and pipelines)",
		Example: `  mwmctl check                              # one line, exit code 0 or 1
  mwmctl check --checker shop/storefront    # only the Services of one ServiceChecker
  mwmctl check --wait 5m                    # block a deploy until out of maintenance (exit 4 on timeout)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := o.filter(nil, false, false)
			if err != nil {
				return err
			}
			src, err := o.source()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			waitCtx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			for {
				all, err := src.List(ctx)
				if err != nil {
					return withCode(ExitSource, err)
				}
				entries := f.apply(all)
				_, _ = fmt.Fprintln(o.io.Out, render.Summary(entries))
				if !render.InMaintenance(entries) {
					return nil
				}
				if wait <= 0 {
					return withCode(ExitMaintenance, errors.New("in maintenance"))
				}
				select {
				case <-ctx.Done():
					return withCode(ExitMaintenance, errors.New("interrupted while in maintenance"))
				case <-waitCtx.Done():
					return withCode(ExitTimeout, fmt.Errorf("still in maintenance after --wait %s", wait))
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the maintenance to end")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to look again while waiting")
	return cmd
}
