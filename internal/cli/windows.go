package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mamrezb/maintenance-window-manager/internal/render"
)

func newWindowsCommand(o *options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "windows",
		Short: "List MaintenanceWindows whatever their phase: phase, start, end, title",
		Long: `windows lists the MaintenanceWindows in view, whatever their phase (Scheduled, Active, Completed, Suspended,
Invalid), with the occurrence in focus: the current one while Active, else the next. From the API it is
GET /windows; through the kubeconfig it reads the MaintenanceWindows and converts them the same way.
-o json prints one JSON array of the GET /windows objects.`,
		Example: `  mwmctl windows                          # every window, through your kubeconfig
  mwmctl windows -n shop -o wide          # with checkers, services and the occurrence after
  mwmctl windows --checker shop/storefront -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := render.ParseFormat(output)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			sel, src, err := o.selection(nil, false, false)
			if err != nil {
				return err
			}
			windows, err := src.Windows(cmd.Context(), sel)
			if err != nil {
				return withCode(ExitSource, err)
			}
			if len(windows) == 0 && format != render.JSON && format != render.YAML {
				where := "in any namespace"
				if !sel.Empty() {
					where = "for " + describe(sel)
				}
				_, _ = fmt.Fprintf(o.io.Err, "hint: no MaintenanceWindow %s; `mwmctl maintenance on CHECKER` starts "+
					"one, and the README's Planned maintenance section shows how to plan them\n", where)
			}
			return render.Windows(o.io.Out, windows, render.Options{Format: format, Now: o.io.Now()})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, json or yaml (default: a table)")
	return cmd
}
