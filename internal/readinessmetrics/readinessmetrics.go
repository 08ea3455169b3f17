package readinessmetrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// Recorder holds the metrics and remembers which series each ServiceChecker owns.
type Recorder struct {
	serviceReady *prometheus.GaugeVec
	maintenance  *prometheus.GaugeVec
	transitions  *prometheus.CounterVec

	mu     sync.Mutex
	series map[types.NamespacedName]map[seriesKey]struct{} // ServiceChecker -> its per-Service series
}

type seriesKey struct {
	service  types.NamespacedName
	critical string
}

// New creates the metrics and registers them with reg (the manager's registry in production).
func New(reg prometheus.Registerer) *Recorder {
	perService := []string{"namespace", "service", "checker_namespace", "checker", "critical"}
	r := &Recorder{
		serviceReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mwm_service_ready",
			Help: "1 when the watched Service is ready according to the ServiceChecker, 0 when not.",
		}, perService),
		maintenance: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mwm_servicechecker_maintenance",
			Help: "1 when the ServiceChecker is in maintenance: a critical Service is not ready, " +
				"or an active MaintenanceWindow covers it.",
		}, []string{"namespace", "name"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mwm_readiness_transitions_total",
			Help: "Readiness changes of a watched Service observed by the ServiceChecker.",
		}, perService),
		series: make(map[types.NamespacedName]map[seriesKey]struct{}),
	}
	reg.MustRegister(r.serviceReady, r.maintenance, r.transitions)
	return r
}

// Observe records the status of a ServiceChecker and counts transitions, deleting the series of entries it
// no longer lists.
func (r *Recorder) Observe(checker types.NamespacedName, status *v1alpha1.ServiceCheckerStatus,
	transitioned []types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()

	current := make(map[seriesKey]struct{}, len(status.ServiceStatuses))
	critical := make(map[types.NamespacedName]string, len(status.ServiceStatuses))
	for _, s := range status.ServiceStatuses {
		svc := types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
		k := seriesKey{service: svc, critical: strconv.FormatBool(s.Critical)}
		current[k] = struct{}{}
		critical[svc] = k.critical
		r.serviceReady.WithLabelValues(k.labels(checker)...).Set(boolValue(s.Ready))
	}
	for _, svc := range transitioned {
		if c, ok := critical[svc]; ok {
			r.transitions.WithLabelValues(seriesKey{service: svc, critical: c}.labels(checker)...).Inc()
		}
	}
	for k := range r.series[checker] {
		if _, ok := current[k]; !ok {
			r.serviceReady.DeleteLabelValues(k.labels(checker)...)
			r.transitions.DeleteLabelValues(k.labels(checker)...)
		}
	}
	r.series[checker] = current
	r.maintenance.WithLabelValues(checker.Namespace, checker.Name).Set(boolValue(status.Maintenance))
}

// Forget deletes every series of a ServiceChecker that was deleted.
func (r *Recorder) Forget(checker types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	owner := prometheus.Labels{"checker_namespace": checker.Namespace, "checker": checker.Name}
	r.serviceReady.DeletePartialMatch(owner)
	r.transitions.DeletePartialMatch(owner)
	r.maintenance.DeleteLabelValues(checker.Namespace, checker.Name)
	delete(r.series, checker)
}

// Reset deletes every series: a replica that stops leading stops exporting what it no longer observes, so that
// an alert or a sum never counts a former leader's frozen values.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serviceReady.Reset()
	r.transitions.Reset()
	r.maintenance.Reset()
	clear(r.series)
}

func (k seriesKey) labels(checker types.NamespacedName) []string {
	return []string{k.service.Namespace, k.service.Name, checker.Namespace, checker.Name, k.critical}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
