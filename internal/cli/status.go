package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mamrezb/maintenance-window-manager/internal/render"
)

func newStatusCommand(o *options) *cobra.Command {
	var output string
	var critical, notReady bool
	cmd := &cobra.Command{
		Use:   "status [SERVICE...]",
		Short: "Show the watched Services: ready, critical, endpoints, since when",
		Long: `status shows the watched Services in a table that ends with the one-line summary of the /status answer,
naming each active MaintenanceWindow and its end, then one line per upcoming window (starting within its announce
period), all on stdout. -o json and -o yaml print the Services only, as GET /services does.`,
		Example: `  mwmctl status                         # every watched Service, from the cluster of your kubeconfig
  mwmctl status -n shop --not-ready     # what is down in namespace shop
  mwmctl status shop/checkout -o wide   # one Service, with reason and ServiceCheckers
  mwmctl status --api-url https://mwm.example.com:8443 -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := render.ParseFormat(output)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			sel, src, err := o.selection(args, critical, notReady)
			if err != nil {
				return err
			}
			view, err := src.List(cmd.Context(), sel)
			if err != nil {
				return withCode(ExitSource, err)
			}
			entries := view.Entries
			if view.Freshness.Stale {
				_, _ = fmt.Fprintln(o.io.Err, "warning: stale data: "+render.StaleMessage(view.Freshness, o.io.Now()))
			}
			switch {
			case len(entries) == 0 && sel.Empty():
				_, _ = fmt.Fprintln(o.io.Err, "hint: no ServiceChecker watches any Service yet; create one listing "+
					"your Services (apiVersion maintenance.mamrezb.com/v1alpha1, kind ServiceChecker, "+
					"spec.services: [{name: my-service, critical: true}])")
			case len(entries) == 0:
				_, _ = fmt.Fprintf(o.io.Err, "hint: no watched Service matches %s; `mwmctl status -o wide` shows "+
					"them all\n", describe(sel))
			}
			return render.Services(o.io.Out, entries, render.Options{Format: format, Color: o.color(), Now: o.io.Now(),
				Status: view.Status})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, json or yaml (default: a table)")
	cmd.Flags().BoolVar(&critical, "critical", false, "only critical Services")
	cmd.Flags().BoolVar(&notReady, "not-ready", false, "only Services that are not ready")
	return cmd
}
