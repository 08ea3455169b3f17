package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/cachetrim"
	"github.com/mamrezb/maintenance-window-manager/internal/controller"
	"github.com/mamrezb/maintenance-window-manager/internal/httpapi"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
	"github.com/mamrezb/maintenance-window-manager/internal/readinessmetrics"
)

// bench holds the cluster, an admin client fast enough to create thousands of objects, and the in-process
// manager that the api, freshness and writes sections measure.
type bench struct {
	cluster  *localcluster.Cluster
	admin    client.WithWatch // also watches ServiceCheckers to count status writes as the API server sees them
	scheme   *runtime.Scheme
	manager  string // bin/manager, for the sections that run it as a process
	dir      string
	out      string // results directory; the scale section's profiles go to <out>/profiles
	reps     int
	duration time.Duration

	small   world // 1,000 Services; the first 1,000 of the scale section's 10,000
	grown   bool  // the world holds the scale section's 10,000 Services
	mgr     ctrl.Manager
	stopMgr context.CancelFunc // stops the in-process manager (before the sections that run bin/manager)
	apiURL  string
	writes  writeCounter
	scaling []scalingRow // the scale section's table
}

func newBench(ctx context.Context, cluster *localcluster.Cluster, manager, dir, out string, reps int,
	duration time.Duration) (*bench, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = 2000, 4000
	admin, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	b := &bench{cluster: cluster, admin: admin, scheme: scheme, manager: manager, dir: dir, out: out, reps: reps, duration: duration,
		small: world{prefix: "bench", namespaces: 10, services: 1000}}
	start := time.Now()
	if err := b.small.create(ctx, admin, 0); err != nil {
		return nil, err
	}
	step("created 1000 Services with their EndpointSlices in %s", time.Since(start).Round(time.Millisecond))
	return b, nil
}

// inProcess starts the in-process manager over the 1,000 Services in 100 ServiceCheckers, unless it runs already.
func (b *bench) inProcess(ctx context.Context) error {
	if b.stopMgr != nil {
		return nil
	}
	if err := b.small.setWatched(ctx, b.admin, 100, 1000); err != nil {
		return err
	}
	return b.startManager(ctx)
}

// stopInProcess stops the in-process manager, so that bin/manager is the only manager.
func (b *bench) stopInProcess() {
	if b.stopMgr != nil {
		b.stopMgr()
		b.stopMgr = nil
		time.Sleep(time.Second)
	}
}

// startManager runs the reconciler and the API in this process, as cmd/manager wires them (without leader
// election: one replica), and waits until /services lists every watched Service as ready.
func (b *bench) startManager(ctx context.Context) error {
	cfg := rest.CopyConfig(b.cluster.Config)
	// cmd/manager's --kube-api-qps and --kube-api-burst defaults.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{rt: rt, c: &b.writes} })
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: b.scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: cachetrim.ByObject()}})
	if err != nil {
		return err
	}
	reconciler := &controller.ServiceCheckerReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("bench"),
		Metrics: readinessRecorder(), Clock: clock.RealClock{},
		StatusCoalesceInterval: 5 * time.Second} // cmd/manager's --status-coalesce-interval default
	if err := reconciler.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	srv, err := httpapi.Setup(mgr, httpapi.ServerOptions{BindAddress: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	mgrCtx, stop := context.WithCancel(ctx)
	go func() {
		if err := mgr.Start(mgrCtx); err != nil {
			fmt.Println("bench: manager:", err)
		}
	}()
	b.mgr, b.stopMgr = mgr, stop
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if addr := srv.Addr(); addr != nil {
			b.apiURL = "https://" + addr.String()
			if n, all, err := readyCount(b.apiURL); err == nil && n == b.small.services && all == n {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the in-process manager did not report %d ready Services within 2 minutes", b.small.services)
}

// sections are the parts of the run that -only selects.
func (b *bench) sections() map[string]func(context.Context) ([]figure, error) {
	withManager := func(f func(context.Context) ([]figure, error)) func(context.Context) ([]figure, error) {
		return func(ctx context.Context) ([]figure, error) {
			if err := b.inProcess(ctx); err != nil {
				return nil, err
			}
			return f(ctx)
		}
	}
	return map[string]func(context.Context) ([]figure, error){
		kindAPI:       withManager(b.api),
		kindFreshness: withManager(b.freshness),
		kindWrites:    withManager(b.statusWrites),
		kindCoalesce:  b.coalesce,
		kindStreams:   b.streams,
		kindScale:     b.scale,
	}
}

// writeCounter counts the manager's requests to the API server by kind: ServiceChecker status writes, Events,
// and everything else that is not a read.
type writeCounter struct {
	status, events, other atomic.Int64
}

type countingTransport struct {
	rt http.RoundTripper
	c  *writeCounter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		switch {
		case strings.Contains(req.URL.Path, "/servicecheckers/") && strings.HasSuffix(req.URL.Path, "/status"):
			t.c.status.Add(1)
		case strings.Contains(req.URL.Path, "/events"):
			t.c.events.Add(1)
		default:
			t.c.other.Add(1)
		}
	}
	return t.rt.RoundTrip(req)
}

// insecureClient talks to the API's self-signed certificate over keep-alive HTTPS, HTTP/1.1 as the manager serves.
func insecureClient(conns int) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a benchmark of a self-signed local server
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true, ForceAttemptHTTP2: false,
	}}
}

// readinessRecorder keeps the reconciler's metrics out of the global registry.
func readinessRecorder() *readinessmetrics.Recorder {
	return readinessmetrics.New(prometheus.NewRegistry())
}
