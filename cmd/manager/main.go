// Command manager runs the Maintenance Window Manager controller: it watches ServiceCheckers, Services and
// EndpointSlices and writes each ServiceChecker's status. This file only parses flags and wires components.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	operatorsv2 "github.com/operator-framework/api/pkg/operators/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/cachetrim"
	"github.com/mamrezb/maintenance-window-manager/internal/contact"
	"github.com/mamrezb/maintenance-window-manager/internal/controller"
	"github.com/mamrezb/maintenance-window-manager/internal/httpapi"
	"github.com/mamrezb/maintenance-window-manager/internal/leader"
	"github.com/mamrezb/maintenance-window-manager/internal/ofrep"
	"github.com/mamrezb/maintenance-window-manager/internal/olmcondition"
	"github.com/mamrezb/maintenance-window-manager/internal/readinessmetrics"
	"github.com/mamrezb/maintenance-window-manager/internal/reconnect"
	"github.com/mamrezb/maintenance-window-manager/internal/tenancy"
)

// envNoCrossNamespaceRefs sets the default of --no-cross-namespace-refs: OLM passes a Subscription's
// spec.config.env to the Pods but has no way to add arguments.
const envNoCrossNamespaceRefs = "MWM_NO_CROSS_NAMESPACE_REFS"

func main() {
	var (
		metricsAddr, probeAddr, leaderElectionNamespace string
		pprofAddr                                       string
		leaderElect, secureMetrics, enableHTTP2         bool
		noCrossNamespaceRefs                            bool
		api                                             httpapi.ServerOptions
		corsOrigins                                     string
		kubeAPIQPS                                      float64
		kubeAPIBurst                                    int
		elector                                         leader.Elector
		staleAfter                                      time.Duration
		statusCoalesceInterval                          time.Duration
	)
	flag.StringVar(&api.BindAddress, "api-bind-address", ":8443", "Address the maintenance API (/services, /status) binds to.")
	flag.StringVar(&api.CertDir, "api-cert-dir", "",
		"Directory with tls.crt and tls.key for the API, reloaded on change; empty generates a self-signed certificate.")
	flag.BoolVar(&api.Insecure, "api-insecure", false,
		"Serve the API over plain HTTP (a local run, or behind a mesh that terminates TLS).")
	flag.BoolVar(&api.Handler.StatusPage, "api-status-page", true,
		"Serve the HTML status page at / on the API port (the JSON routes are served either way).")
	flag.StringVar(&api.Handler.PathPrefix, "api-path-prefix", "",
		"Path prefix under which clients reach the API through a proxy that strips it, e.g. /mwm; OFREP answers "+
			"advertise their event stream under it when the proxy sends no X-Forwarded-Prefix. Empty: no prefix.")
	flag.StringVar(&corsOrigins, "api-cors-allowed-origins", "",
		"Comma-separated origins browsers may call the API from, e.g. https://shop.example.com; * allows any. "+
			"Empty (the default) sends no CORS headers, so pages of other origins cannot read the API.")
	flag.DurationVar(&api.Handler.SSEHeartbeat, "api-sse-heartbeat", 15*time.Second,
		"Interval of the heartbeat comments on open event streams.")
	flag.IntVar(&api.Handler.MaxStreams, "api-max-streams", 1000,
		"Maximum concurrent event streams per replica; beyond it clients get 503 with Retry-After.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8444",
		"Address the metrics endpoint binds to (HTTPS unless --metrics-secure=false); 0 disables it.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "",
		"Address of Go's /debug/pprof profiles, e.g. 127.0.0.1:6060; empty (the default) serves none. For profiling "+
			"only: profiles reveal memory contents, so never expose it beyond the Pod.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false,
		"Elect a leader so that only one replica reconciles; required when running more than one replica.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the Pod's namespace, and must be set outside a cluster.")
	flag.DurationVar(&elector.LeaseDuration, "leader-election-lease-duration", 15*time.Second,
		"How long a standby waits, after the leader's last renewal, before taking the Lease.")
	flag.DurationVar(&elector.RenewDeadline, "leader-election-renew-deadline", 10*time.Second,
		"How long the leader retries renewing before it stops reconciling (the process and its API keep running, "+
			"and it campaigns again); shorter than the lease duration.")
	flag.DurationVar(&elector.RetryPeriod, "leader-election-retry-period", 2*time.Second,
		"Interval between attempts to take or renew the Lease.")
	flag.DurationVar(&staleAfter, "stale-after", 30*time.Second,
		"The API reports its data as stale (\"stale\": true in /status) when this replica has had no confirmed "+
			"contact with the Kubernetes API server for this long.")
	flag.DurationVar(&statusCoalesceInterval, "status-coalesce-interval", 5*time.Second,
		"How long a ServiceChecker status change that only updates endpoint counts (readyEndpoints, e.g. a scale "+
			"from 3 to 4 Pods) may wait, so counts are written at most once per interval; readiness changes, window "+
			"boundaries and grace expiries are written at once. 0 writes every change at once.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, allowing only callers authorized by the API server (TokenReview and SubjectAccessReview).")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"Allow HTTP/2 on the metrics and API servers; off by default because of the HTTP/2 rapid reset CVEs.")
	// client-go's 20 QPS (burst 30) delays status writes once readiness changes faster than that (make bench).
	flag.Float64Var(&kubeAPIQPS, "kube-api-qps", 50, "Requests per second the manager may send to the API server.")
	flag.IntVar(&kubeAPIBurst, "kube-api-burst", 100, "Burst of requests above --kube-api-qps.")
	denyDefault, err := envBool(envNoCrossNamespaceRefs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err) // before the flags, so before the logger
		os.Exit(2)
	}
	flag.BoolVar(&noCrossNamespaceRefs, strings.TrimPrefix(tenancy.Flag, "--"), denyDefault,
		"Deny a ServiceChecker any Service outside its own namespace (not read at all; reported as "+
			"CrossNamespaceReferenceDenied), unless a Gateway API ReferenceGrant in the Service's namespace allows "+
			"ServiceCheckers of that namespace. Default from "+envNoCrossNamespaceRefs+" (true/false), else false.")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	api.EnableHTTP2 = enableHTTP2
	for _, o := range strings.Split(corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			api.Handler.CORSAllowedOrigins = append(api.Handler.CORSAllowedOrigins, o)
		}
	}

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	if leaderElect {
		if err := elector.Validate(); err != nil {
			log.Error(err, "invalid leader election flags")
			os.Exit(2)
		}
	}
	if err := checkFlags(statusCoalesceInterval, staleAfter, api.Handler.PathPrefix); err != nil {
		log.Error(err, "invalid flag")
		os.Exit(2)
	}
	// The Go runtime knows nothing of the container's memory limit: without GOMEMLIMIT it lets the heap grow to twice
	// the live heap before collecting, and an OOM kill comes before the collector would have made room. 90% of the
	// cgroup's limit leaves room for what the runtime does not count (stacks, the binary). An explicit GOMEMLIMIT wins,
	// AUTOMEMLIMIT sets another ratio (or off); without a cgroup limit nothing changes.
	if limit, err := memlimit.SetGoMemLimitWithOpts(memlimit.WithRatio(0.9),
		memlimit.WithProvider(memlimit.FromCgroup)); errors.Is(err, memlimit.ErrCgroupsNotSupported) {
		log.V(1).Info("no cgroups on this system (not Linux): GOMEMLIMIT left to GOMEMLIMIT itself")
	} else if err != nil {
		log.Error(err, "GOMEMLIMIT not set from the container's memory limit; the Go runtime sizes its heap by GOGC "+
			"alone", "fix", "set GOMEMLIMIT, or AUTOMEMLIMIT to a ratio in (0, 1] or off")
	} else if limit > 0 {
		log.Info("GOMEMLIMIT set from the container's memory limit", "bytes", limit)
	}
	// client-go notices an HTTP/2 connection that silently died (no RST) only by its health check: 30 s without a
	// frame, then a 15 s ping timeout. Shorter defaults let the watches come back within seconds of the network.
	for name, seconds := range map[string]string{"HTTP2_READ_IDLE_TIMEOUT_SECONDS": "10", "HTTP2_PING_TIMEOUT_SECONDS": "5"} {
		if os.Getenv(name) == "" {
			_ = os.Setenv(name, seconds)
		}
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	// OperatorCondition, written only when OLM manages the operator (internal/olmcondition).
	utilruntime.Must(operatorsv2.AddToScheme(scheme))
	// ReferenceGrant, read only with --no-cross-namespace-refs (internal/tenancy).
	utilruntime.Must(gatewayv1beta1.Install(scheme))

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics, TLSOpts: tlsOpts}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes configuration found; pass --kubeconfig, set KUBECONFIG, or run in a cluster")
		os.Exit(1)
	}
	cfg.QPS, cfg.Burst = float32(kubeAPIQPS), kubeAPIBurst
	byObject := cachetrim.ByObject()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: probeAddr,
		PprofBindAddress:       pprofAddr,
		// Leadership is internal/leader's: losing the Lease stops reconciling, never this process and its API.
		LeaderElection: false,
		// Cached objects never need their managedFields; dropping them keeps memory flat on big clusters.
		// Every Service and EndpointSlice is cached: keep only what readiness reads (internal/cachetrim).
		// Informers retry a failed List or Watch every second instead of backing off (internal/reconnect).
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: byObject,
			NewInformer: reconnect.NewInformer},
		// The kinds of ByObject are mapped without discovery, so the manager starts while the API server is away.
		MapperProvider: reconnect.MapperProvider(scheme, slices.Collect(maps.Keys(byObject))...),
	})
	if err != nil {
		log.Error(err, "unable to create the manager; check the flags above and the kubeconfig")
		os.Exit(1)
	}

	ctx := ctrl.SetupSignalHandler()
	reconciler := &controller.ServiceCheckerReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("maintenance-window-manager"),
		Metrics:  readinessmetrics.New(metrics.Registry),
		Clock:    clock.RealClock{},
		Tenancy:  tenancy.Policy{DenyCrossNamespace: noCrossNamespaceRefs},

		StatusCoalesceInterval: statusCoalesceInterval,
	}
	windowReconciler := &controller.MaintenanceWindowReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("maintenance-window-manager"),
		Metrics:  controller.NewWindowMetrics(metrics.Registry),
		Clock:    clock.RealClock{},
	}
	// The API server may be away at start: what needs it is prepared by the Elector, retried with backoff, while
	// the API already answers 503 ("not synced yet") instead of the process exiting.
	elector.Prepare = func(ctx context.Context) error {
		err := reconciler.Setup(ctx, mgr)
		if err == nil {
			err = windowReconciler.Setup(ctx, mgr)
		}
		if meta.IsNoMatchError(err) {
			return fmt.Errorf("the ServiceChecker or MaintenanceWindow CRD is not installed in this cluster; run "+
				"`make install` (or apply dist/install.yaml) first: %w", err)
		}
		return err
	}
	elector.Work = []leader.Work{reconciler.Run, windowReconciler.Run}
	elector.Log = ctrl.Log.WithName("leader")
	if olm, err := olmcondition.New(mgr); err != nil {
		log.Error(err, "unable to report the Upgradeable condition to OLM")
		os.Exit(1)
	} else if olm != nil {
		elector.Work = append(elector.Work, olm.Start)
		log.Info("managed by OLM: the leader will report the Upgradeable condition", "operatorCondition",
			os.Getenv(olmcondition.EnvConditionName))
	}
	if leaderElect {
		lock, err := leader.NewLeaseLock(mgr.GetConfig(), leaderElectionNamespace, "maintenance-window-manager.mamrezb.com",
			// client-go's leader election records core/v1 Events (Eventf(object, type, reason, message)), which the
			// events.k8s.io recorder does not offer.
			mgr.GetEventRecorderFor("maintenance-window-manager")) //nolint:staticcheck
		if err != nil {
			log.Error(err, "unable to set up leader election")
			os.Exit(1)
		}
		elector.Lock = lock
	}
	if err := mgr.Add(&elector); err != nil {
		log.Error(err, "unable to set up the leader's work")
		os.Exit(1)
	}
	srv, err := httpapi.Setup(mgr, api)
	if err != nil {
		log.Error(err, "unable to set up the maintenance API")
		os.Exit(1)
	}
	store := srv.Store()
	// Contact is confirmed on a fresh connection and through the informers' own client (mgr.GetHTTPClient()).
	if err := mgr.Add(&contact.Probe{Config: mgr.GetConfig(), Shared: mgr.GetHTTPClient(), StaleAfter: staleAfter,
		Clock: clock.RealClock{}, Metrics: contact.NewMetrics(metrics.Registry), Log: ctrl.Log.WithName("contact"),
		OnChange: func(s contact.State) { store.SetFreshness(s.Stale, s.LastContact) }}); err != nil {
		log.Error(err, "unable to set up the API server contact probe")
		os.Exit(1)
	}
	if err := mgr.Add(cachetrim.ReleaseAfterSync{Cache: mgr.GetCache()}); err != nil {
		log.Error(err, "unable to set up the release of the initial lists' memory")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the ready check")
		os.Exit(1)
	}

	log.Info("starting manager", "api", api.BindAddress, "metrics", metricsAddr, "probes", probeAddr,
		"leaderElection", leaderElect, "staleAfter", staleAfter, "noCrossNamespaceRefs", noCrossNamespaceRefs,
		"corsAllowedOrigins", api.Handler.CORSAllowedOrigins, "statusPage", api.Handler.StatusPage)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

// envBool reads a boolean environment variable; unset or empty is false.
func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean: set it to true or false, or unset it", name, v)
	}
	return b, nil
}

// checkFlags rejects flag values the manager cannot run with, naming the flag.
func checkFlags(statusCoalesceInterval, staleAfter time.Duration, pathPrefix string) error {
	if statusCoalesceInterval < 0 {
		return fmt.Errorf("--status-coalesce-interval must be 0 or positive, not %s", statusCoalesceInterval)
	}
	if staleAfter <= 0 {
		return fmt.Errorf("--stale-after must be positive, not %s", staleAfter)
	}
	if err := ofrep.CheckPathPrefix(pathPrefix); err != nil {
		return fmt.Errorf("--api-path-prefix: %w", err)
	}
	return nil
}
