package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/mamrezb/maintenance-window-manager/internal/source"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v0.1.0".
var Version = "dev"

// Exit codes, the same for every command.
const (
	ExitOK          = 0
	ExitMaintenance = 1
	ExitUsage       = 2
	ExitSource      = 3
	ExitTimeout     = 4
	// ExitInterrupted is the shell's convention for a command stopped by Ctrl-C (watch exits 0 instead).
	ExitInterrupted = 130
)

const exitCodesHelp = `Exit codes (every command):
  0  ok
  1  in maintenance (check): a critical Service is not ready
  2  usage error (bad flag, argument or value)
  3  the source cannot be read (API unreachable, TLS, 401/403, CRD missing), or (check) the
     selection matches nothing, or the API's answer is stale (see check --allow-stale)
  4  check --wait timed out, still in maintenance
  130  interrupted (Ctrl-C) before an answer; watch exits 0 on Ctrl-C`

// exitError carries an exit code with the message printed for it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// IO are the streams and environment of one run.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// Getenv reads the environment (MWM_API_URL, NO_COLOR).
	Getenv func(string) string
	// IsTerminal reports whether Out is a terminal, for colour.
	IsTerminal bool
	// Now is the clock for ages and watch timestamps.
	Now func() time.Time
}

// Run executes mwmctl with args (without the program name) and returns its exit code.
func Run(ctx context.Context, name string, args []string, streams IO) int {
	if streams.Getenv == nil {
		streams.Getenv = os.Getenv
	}
	if streams.Now == nil {
		streams.Now = time.Now
	}
	root := newRoot(name, &streams)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil {
		return ExitInterrupted // Ctrl-C during a one-shot command: not an outage, nothing to explain
	}
	var exit *exitError
	if !errors.As(err, &exit) {
		exit = &exitError{code: ExitUsage, err: err} // cobra's own errors: unknown command, bad flag
	}
	if exit.err != nil && exit.err.Error() != "" {
		_, _ = fmt.Fprintf(streams.Err, "%s: %s\n", root.DisplayName(), exit.err)
	}
	return exit.code
}

// Main is the entry point of cmd/mwmctl: real streams, Ctrl-C ends the command cleanly.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, filepath.Base(os.Args[0]), os.Args[1:], IO{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		IsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	})
	stop()
	os.Exit(code)
}

// options are the flags shared by every command.
type options struct {
	io *IO

	apiURL, apiCAFile string
	apiTLSServerName  string
	apiInsecure       bool
	apiTimeout        time.Duration
	kube              *genericclioptions.ConfigFlags
	allNamespaces     bool
	checker           string
	// cmd is the command being run, to tell flags given from defaults.
	cmd *cobra.Command
}

func newRoot(name string, streams *IO) *cobra.Command {
	o := &options{io: streams, kube: genericclioptions.NewConfigFlags(true)}
	use, display := "mwmctl", "mwmctl"
	if strings.HasPrefix(name, "kubectl-") {
		// Running as a kubectl plugin: help reads "kubectl mwm", completion scripts stay bound to kubectl-mwm
		// (binding them to "kubectl" would replace kubectl's own completion).
		use, display = name, "kubectl "+strings.TrimPrefix(name, "kubectl-")
	}
	root := &cobra.Command{
		Use:   use,
		Short: "Show whether the Services behind your frontends are up, or in maintenance",
		Long: `mwmctl shows the readiness of the Services watched by Maintenance Window Manager ServiceCheckers.

It reads either the manager's HTTP API (--api-url or MWM_API_URL) or, by default, the ServiceCheckers'
status through your kubeconfig. Both show the same view.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: display},
	}
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { o.cmd = cmd }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(ExitUsage, fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})

	pf := root.PersistentFlags()
	pf.StringVar(&o.apiURL, "api-url", "", "URL of the manager's API, e.g. https://mwm.example.com:8443 (env MWM_API_URL); "+
		"without it, the cluster of the kubeconfig is read")
	pf.StringVar(&o.apiCAFile, "api-ca-file", "", "PEM file of the CA that signed the API's certificate")
	pf.StringVar(&o.apiTLSServerName, "api-tls-server-name", "", "name to verify the API's certificate against, "+
		"when the URL's host is not in it (e.g. through kubectl port-forward: the API Service's DNS name)")
	pf.BoolVar(&o.apiInsecure, "api-insecure-skip-tls-verify", false, "do not verify the API's certificate (test setups only)")
	pf.DurationVar(&o.apiTimeout, "api-timeout", 10*time.Second, "timeout of each API request")
	pf.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "show Services of every namespace (the default)")
	pf.StringVar(&o.checker, "checker", "", "show only the Services of this ServiceChecker (NAMESPACE/NAME)")
	o.kube.AddFlags(pf)

	root.AddCommand(newStatusCommand(o), newWatchCommand(o), newCheckCommand(o), newWindowsCommand(o),
		newMaintenanceCommand(o), newVersionCommand(o))
	return root
}

// source returns the API source when an API URL is given, else the cluster source.
func (o *options) source() (source.Source, error) {
	common := source.Options{
		OnRetry: func(err error, wait time.Duration) {
			_, _ = fmt.Fprintf(o.io.Err, "connection lost (%v); reconnecting in %s\n", err, wait)
		},
		Warn: func(msg string) { _, _ = fmt.Fprintln(o.io.Err, "note:", msg) },
	}
	url := o.apiURL
	kubeFlagsGiven := o.cmd != nil && (o.cmd.Flags().Changed("kubeconfig") || o.cmd.Flags().Changed("context"))
	if url == "" && !kubeFlagsGiven {
		url = o.io.Getenv("MWM_API_URL") // explicit --kubeconfig/--context win over the environment
	}
	if url == "" && (o.apiCAFile != "" || o.apiTLSServerName != "" || o.apiInsecure) {
		return nil, withCode(ExitUsage, errors.New("--api-ca-file, --api-tls-server-name and "+
			"--api-insecure-skip-tls-verify need --api-url "+
			"(or MWM_API_URL); without it mwmctl reads the cluster of your kubeconfig"))
	}
	if url != "" {
		api, err := source.NewAPI(source.APIOptions{URL: url, CAFile: o.apiCAFile, TLSServerName: o.apiTLSServerName,
			InsecureSkipTLSVerify: o.apiInsecure, Timeout: o.apiTimeout, Options: common})
		return api, withCode(ExitUsage, err)
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return nil, withCode(ExitSource, fmt.Errorf("no usable kubeconfig (%w); pass --kubeconfig or --context, "+
			"or read the API with --api-url", err))
	}
	// The namespace of the chosen context (honouring --context, -n and in-cluster config).
	fallback, _, err := o.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil || fallback == "" {
		fallback = "default"
	}
	cluster, err := source.NewCluster(source.ClusterOptions{Config: cfg, FallbackNamespace: fallback, Options: common})
	return cluster, withCode(ExitSource, err)
}

// color reports whether to paint output: on a terminal, unless NO_COLOR is set.
func (o *options) color() bool {
	return o.io.IsTerminal && o.io.Getenv("NO_COLOR") == ""
}

func newVersionCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of mwmctl",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(o.io.Out, "mwmctl %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return withCode(ExitUsage, fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args))
	}
	return nil
}
