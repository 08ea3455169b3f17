package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/manual"
	"github.com/mamrezb/maintenance-window-manager/internal/render"
)

const maintenanceHelp = `Both write through your kubeconfig (--kubeconfig, --context), so that your RBAC decides:
"on" needs create on maintenancewindows, "off" list and patch (the ClusterRole
maintenance-window-manager-maintenancewindow-editor-role grants them); reading the ServiceChecker is optional.
The HTTP API is read-only: --api-url is refused and MWM_API_URL is ignored.`

func newMaintenanceCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "Switch maintenance on or off by hand for a ServiceChecker (a one-off MaintenanceWindow)",
		Long: `maintenance on starts a one-off MaintenanceWindow for a ServiceChecker now, open-ended or --for a while;
maintenance off ends the active one-off windows of a ServiceChecker.

` + maintenanceHelp,
		Args: noArgs,
	}
	cmd.AddCommand(newMaintenanceOnCommand(o), newMaintenanceOffCommand(o))
	return cmd
}

func newMaintenanceOnCommand(o *options) *cobra.Command {
	var r manual.Request
	cmd := &cobra.Command{
		Use:   "on CHECKER",
		Short: "Start maintenance now: create a one-off MaintenanceWindow for the ServiceChecker CHECKER",
		Long: `on creates a one-off MaintenanceWindow naming the ServiceChecker CHECKER (a name in -n, or NAMESPACE/NAME) that
starts now and ends after --for, or stays open-ended until "mwmctl maintenance off". It is labelled
` + v1alpha1.LabelManual + `: "true" and named CHECKER-manual-XXXXX; its NAMESPACE/NAME is printed on stdout. The
operator puts the ServiceChecker in maintenance within about a second. With --services the window covers only
those Services' entries, and the ServiceChecker is in maintenance when one of them is critical for it.

` + maintenanceHelp,
		Example: `  mwmctl maintenance on storefront -n shop --for 2h --title "Database upgrade" \
      --message "Checkout is paused while we upgrade the database."
  mwmctl maintenance on shop/storefront --services checkout   # only one Service, open-ended`,
		Args: exactlyOneChecker,
		RunE: func(cmd *cobra.Command, args []string) error {
			sw, namespace, name, err := o.switcher(cmd, args[0])
			if err != nil {
				return err
			}
			r.Namespace, r.Checker = namespace, name
			if err := r.Validate(); err != nil {
				return withCode(ExitUsage, err)
			}
			sc, err := sw.Checker(cmd.Context(), namespace, name)
			if err != nil {
				return withCode(ExitSource, err)
			}
			if sc == nil {
				_, _ = fmt.Fprintf(o.io.Err, "note: you may not read ServiceChecker %s/%s, so mwmctl cannot check "+
					"that it exists; the window is created anyway\n", namespace, name)
			} else if err := watchesServices(sc, r.Services); err != nil {
				return withCode(ExitUsage, err)
			}
			w, err := sw.On(cmd.Context(), r, o.io.Now())
			if err != nil {
				return withCode(ExitSource, err)
			}
			if _, err := fmt.Fprintln(o.io.Out, w.Namespace+"/"+w.Name); err != nil {
				return withCode(ExitSource, fmt.Errorf("write to stdout: %w", err))
			}
			var end *time.Time
			if w.Spec.End != nil {
				end = &w.Spec.End.Time
			}
			what := "ServiceChecker " + namespace + "/" + name
			if len(r.Services) > 0 {
				what = "Services " + strings.Join(r.Services, ", ") + " of " + what
			}
			_, _ = fmt.Fprintf(o.io.Err, "maintenance on for %s, %s; the operator applies it within a second "+
				"(mwmctl check --checker %s/%s); end it with: mwmctl maintenance off %s -n %s\n", what,
				render.Until(end, o.io.Now()), namespace, name, name, namespace)
			return nil
		},
	}
	cmd.Flags().DurationVar(&r.For, "for", 0, "how long the maintenance lasts, e.g. 30m or 2h (default: open-ended, "+
		"until mwmctl maintenance off)")
	cmd.Flags().StringSliceVar(&r.Services, "services", nil, "only these Services of the ServiceChecker, "+
		"NAME or NAMESPACE/NAME, comma-separated (default: the whole ServiceChecker)")
	cmd.Flags().StringVar(&r.Title, "title", "", "short headline shown to end users (at most 128 characters)")
	cmd.Flags().StringVar(&r.Message, "message", "", "what end users should know (at most 2048 characters)")
	return cmd
}

func newMaintenanceOffCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "off CHECKER",
		Short: "End maintenance now: end the active one-off MaintenanceWindows of the ServiceChecker CHECKER",
		Long: `off ends every active one-off MaintenanceWindow naming the ServiceChecker CHECKER (a name in -n, or
NAMESPACE/NAME), whoever created it, by setting its end to now (at least a second after its start), and names
each. Active recurring windows are left alone: off lists them with the kubectl command that would suspend them.
It exits 0, saying so, when no window was active. A ServiceChecker whose critical Services are not ready stays
in maintenance: off says so.

` + maintenanceHelp,
		Example: `  mwmctl maintenance off storefront -n shop`,
		Args:    exactlyOneChecker,
		RunE: func(cmd *cobra.Command, args []string) error {
			sw, namespace, name, err := o.switcher(cmd, args[0])
			if err != nil {
				return err
			}
			sc, err := sw.Checker(cmd.Context(), namespace, name)
			if err != nil {
				return withCode(ExitSource, err)
			}
			now := o.io.Now()
			plan, err := sw.Off(cmd.Context(), namespace, name, now)
			for _, e := range plan.End {
				also := ""
				if others := slices.DeleteFunc(slices.Clone(e.Window.Spec.Checkers),
					func(c string) bool { return c == name }); len(others) > 0 {
					// A shared window ends for every ServiceChecker it names: say so, they are other teams' too.
					also = "; it also covered " + namespace + "/" + strings.Join(others, ", "+namespace+"/")
				}
				_, _ = fmt.Fprintf(o.io.Out, "ended window %s/%s%s (end set to %s)%s\n", e.Window.Namespace,
					e.Window.Name, quoted(e.Window.Spec.Title), render.When(e.End, now), also)
			}
			if err != nil {
				return withCode(ExitSource, err)
			}
			if len(plan.End) == 0 {
				_, _ = fmt.Fprintf(o.io.Out, "no active one-off window names ServiceChecker %s/%s: nothing to end\n",
					namespace, name)
			}
			for _, k := range plan.Keep {
				_, _ = fmt.Fprintf(o.io.Out, "still active: recurring window %s/%s%s %s; suspend it with: %s\n",
					k.Window.Namespace, k.Window.Name, quoted(k.Window.Spec.Title), render.Until(k.Current.End, now),
					manual.SuspendCommand(&k.Window))
			}
			if down := criticalNotReady(sc); len(down) > 0 {
				_, _ = fmt.Fprintf(o.io.Out, "ServiceChecker %s/%s stays in maintenance while critical Services are "+
					"not ready: %s\n", namespace, name, strings.Join(down, ", "))
			}
			return nil
		},
	}
	return cmd
}

// switcher opens the kubeconfig for writing and resolves CHECKER (NAME in -n or the context's namespace, or
// NAMESPACE/NAME).
func (o *options) switcher(cmd *cobra.Command, checker string) (*manual.Switch, string, string, error) {
	for _, flag := range []string{"api-url", "api-ca-file", "api-tls-server-name", "api-insecure-skip-tls-verify",
		"api-timeout"} {
		if cmd.Flags().Changed(flag) {
			return nil, "", "", withCode(ExitUsage, fmt.Errorf("%s writes a MaintenanceWindow through your "+
				"kubeconfig, so that your RBAC decides; the manager's API is read-only and --%s does not apply: "+
				"drop it, and pick the cluster with --kubeconfig or --context", cmd.CommandPath(), flag))
		}
	}
	if o.allNamespaces || o.checker != "" {
		return nil, "", "", withCode(ExitUsage, fmt.Errorf("%s takes the ServiceChecker as its argument "+
			"(NAME with -n, or NAMESPACE/NAME), not -A or --checker", cmd.CommandPath()))
	}
	namespace := ""
	if o.kube.Namespace != nil {
		namespace = *o.kube.Namespace
	}
	name := checker
	if ns, n, found := strings.Cut(checker, "/"); found {
		if namespace != "" && namespace != ns {
			return nil, "", "", withCode(ExitUsage, fmt.Errorf("CHECKER %s is in namespace %s, not -n %s", checker,
				ns, namespace))
		}
		namespace, name = ns, n
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return nil, "", "", withCode(ExitSource, fmt.Errorf("no usable kubeconfig (%w); pass --kubeconfig or "+
			"--context", err))
	}
	if namespace == "" {
		if namespace, _, err = o.kube.ToRawKubeConfigLoader().Namespace(); err != nil || namespace == "" {
			namespace = "default"
		}
	}
	if o.io.Getenv("MWM_API_URL") != "" {
		_, _ = fmt.Fprintf(o.io.Err, "note: MWM_API_URL is ignored: %s writes through your kubeconfig (the "+
			"cluster at %s)\n", cmd.CommandPath(), cfg.Host)
	}
	sw, err := manual.NewSwitch(cfg)
	return sw, namespace, name, withCode(ExitSource, err)
}

func exactlyOneChecker(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return withCode(ExitUsage, fmt.Errorf("%s takes one argument, the ServiceChecker (NAME with -n, or "+
			"NAMESPACE/NAME); got %d", cmd.CommandPath(), len(args)))
	}
	return nil
}

// watchesServices checks that the ServiceChecker lists every Service of --services: a window on a Service it does not
// watch would have no effect.
func watchesServices(sc *v1alpha1.ServiceChecker, services []string) error {
	watched := make(map[string]bool, len(sc.Spec.Services))
	names := make([]string, 0, len(sc.Spec.Services))
	for _, s := range sc.Spec.Services {
		ns := s.Namespace
		if ns == "" {
			ns = sc.Namespace
		}
		watched[ns+"/"+s.Name] = true
		names = append(names, ns+"/"+s.Name)
	}
	for _, s := range services {
		key := s
		if !strings.Contains(s, "/") {
			key = sc.Namespace + "/" + s
		}
		if !watched[key] {
			return fmt.Errorf("--services %s: ServiceChecker %s/%s does not watch Service %s, so a window on it "+
				"would have no effect; it watches %s", s, sc.Namespace, sc.Name, key, strings.Join(names, ", "))
		}
	}
	return nil
}

// criticalNotReady lists the critical Services the ServiceChecker's status holds not ready past their grace period
// (nil when unknown).
func criticalNotReady(sc *v1alpha1.ServiceChecker) []string {
	if sc == nil {
		return nil
	}
	var out []string
	for _, s := range sc.Status.ServiceStatuses {
		if s.Critical && !s.Ready && s.GraceUntil == nil {
			out = append(out, s.Namespace+"/"+s.Name)
		}
	}
	return out
}

// quoted is ` "Title"`, or "" without a title.
func quoted(title string) string {
	if title == "" {
		return ""
	}
	return fmt.Sprintf(" %q", title)
}
