package readinessmetrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

func TestObserveAndForget(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := New(reg)
	checker := types.NamespacedName{Namespace: "shop", Name: "c"}
	api := types.NamespacedName{Namespace: "shop", Name: "api"}

	r.Observe(checker, &v1alpha1.ServiceCheckerStatus{Maintenance: true, ServiceStatuses: []v1alpha1.ServiceStatus{
		{Namespace: "shop", Name: "api", Critical: true, Ready: false},
		{Namespace: "shop", Name: "search", Ready: true},
	}}, []types.NamespacedName{api})

	want := `
# HELP mwm_service_ready 1 when the watched Service is ready according to the ServiceChecker, 0 when not.
# TYPE mwm_service_ready gauge
mwm_service_ready{checker="c",checker_namespace="shop",critical="false",namespace="shop",service="search"} 1
mwm_service_ready{checker="c",checker_namespace="shop",critical="true",namespace="shop",service="api"} 0
# HELP mwm_servicechecker_maintenance 1 when the ServiceChecker is in maintenance: a critical Service is not ready, or an active MaintenanceWindow covers it.
# TYPE mwm_servicechecker_maintenance gauge
mwm_servicechecker_maintenance{name="c",namespace="shop"} 1
# HELP mwm_readiness_transitions_total Readiness changes of a watched Service observed by the ServiceChecker.
# TYPE mwm_readiness_transitions_total counter
mwm_readiness_transitions_total{checker="c",checker_namespace="shop",critical="true",namespace="shop",service="api"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	// The entry for search is removed from the spec: its series goes away.
	r.Observe(checker, &v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{
		{Namespace: "shop", Name: "api", Critical: true, Ready: true},
	}}, []types.NamespacedName{api})
	if n := testutil.CollectAndCount(r.serviceReady); n != 1 {
		t.Errorf("mwm_service_ready has %d series after removing an entry, want 1", n)
	}
	if v := testutil.ToFloat64(r.transitions.WithLabelValues("shop", "api", "shop", "c", "true")); v != 2 {
		t.Errorf("transitions for api = %v, want 2", v)
	}

	r.Forget(checker)
	if n := testutil.CollectAndCount(reg); n != 0 {
		t.Errorf("%d series left after Forget, want 0", n)
	}

	// A replica that stops leading drops every series.
	r.Observe(checker, &v1alpha1.ServiceCheckerStatus{Maintenance: true, ServiceStatuses: []v1alpha1.ServiceStatus{
		{Namespace: "shop", Name: "api", Critical: true},
	}}, []types.NamespacedName{api})
	r.Reset()
	if n := testutil.CollectAndCount(reg); n != 0 {
		t.Errorf("%d series left after Reset, want 0", n)
	}
}
