package httpapi

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// publishSeconds is how long each API snapshot took to build and publish. One histogram per process, registered
// with controller-runtime's registry like its own metrics: tests start several managers in one process.
var publishSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name: "mwm_snapshot_publish_seconds",
	Help: "Time to rebuild and publish this replica's API snapshot after ServiceChecker or MaintenanceWindow " +
		"changes, from the start of the rebuild to the new snapshot being served (encoding the merged list for " +
		"the first request that needs it is not included).",
	Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
})

func init() { metrics.Registry.MustRegister(publishSeconds) }

// Setup adds the snapshot feed, the API server and its readiness check to a manager.
func Setup(mgr ctrl.Manager, opts ServerOptions) (*Server, error) {
	store := snapshot.NewStore()
	if err := mgr.Add(&snapshot.Feed{Cache: mgr.GetCache(), Store: store, Clock: clock.RealClock{},
		Published: func(d time.Duration) { publishSeconds.Observe(d.Seconds()) }}); err != nil {
		return nil, fmt.Errorf("add the API snapshot feed: %w", err)
	}
	srv := NewServer(store, opts, mgr.GetLogger().WithName("api"))
	if err := mgr.Add(srv); err != nil {
		return nil, fmt.Errorf("add the API server: %w", err)
	}
	if err := mgr.AddReadyzCheck("api", srv.ReadyCheck); err != nil {
		return nil, fmt.Errorf("add the API readiness check: %w", err)
	}
	return srv, nil
}
