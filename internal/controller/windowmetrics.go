package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// WindowMetrics exports whether each MaintenanceWindow is active, and deletes the series of a deleted window.
// A nil *WindowMetrics records nothing.
type WindowMetrics struct {
	active *prometheus.GaugeVec
}

// NewWindowMetrics creates the metric and registers it with reg (the manager's registry in production).
func NewWindowMetrics(reg prometheus.Registerer) *WindowMetrics {
	m := &WindowMetrics{active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mwm_maintenance_window_active",
		Help: "1 while the MaintenanceWindow is active (an occurrence is under way), 0 when not.",
	}, []string{"namespace", "name"})}
	reg.MustRegister(m.active)
	return m
}

// Observe records whether the window is active.
func (m *WindowMetrics) Observe(window types.NamespacedName, active bool) {
	if m == nil {
		return
	}
	v := 0.0
	if active {
		v = 1
	}
	m.active.WithLabelValues(window.Namespace, window.Name).Set(v)
}

// Forget deletes the series of a deleted window.
func (m *WindowMetrics) Forget(window types.NamespacedName) {
	if m == nil {
		return
	}
	m.active.DeleteLabelValues(window.Namespace, window.Name)
}

// Reset deletes every series: a replica that stops leading stops exporting windows it no longer evaluates, so that
// a former leader's frozen 1 never counts as an active window.
func (m *WindowMetrics) Reset() {
	if m == nil {
		return
	}
	m.active.Reset()
}
