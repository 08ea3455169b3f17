package cli

import (
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
			deadline := o.io.Now().Add(wait)
			for {
				all, err := src.List(cmd.Context())
				if err != nil {
					return withCode(ExitSource, err)
				}
				entries := f.apply(all)
				_, _ = fmt.Fprintln(o.io.Out, render.Summary(entries))
				if !render.InMaintenance(entries) {
					return nil
				}
				if wait <= 0 {
					return withCode(ExitMaintenance, fmt.Errorf("in maintenance"))
				}
				if !o.io.Now().Add(interval).Before(deadline) {
					return withCode(ExitTimeout, fmt.Errorf("still in maintenance after --wait %s", wait))
				}
				select {
				case <-cmd.Context().Done():
					return withCode(ExitTimeout, fmt.Errorf("interrupted while in maintenance"))
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the maintenance to end")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often to look again while waiting")
	return cmd
}
