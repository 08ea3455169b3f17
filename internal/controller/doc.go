// Package controller reconciles ServiceCheckers and MaintenanceWindows.
//
// For a ServiceChecker it gathers each listed Service and its EndpointSlices from the informer cache, and the
// MaintenanceWindows of its namespace that name it, hands them to internal/readiness, internal/windows and
// internal/checkerstatus at one now of its clock, writes the status only when it differs, and requeues at the
// next start or end of one of those windows. It records Events and metrics for readiness transitions and for
// windows starting and stopping to cover it. Before reading a Service in another namespace it asks
// internal/tenancy whether the ServiceChecker may (--no-cross-namespace-refs, ReferenceGrants).
//
// For a MaintenanceWindow it writes the phase, occurrences and Valid condition internal/windows computes, a Warning
// Event when the window becomes invalid, and mwm_maintenance_window_active; it requeues at the window's next
// boundary.
//
// It must not decide readiness, maintenance or a window's times itself, and must not poll or list every
// ServiceChecker per event: Service and EndpointSlice events reach the ServiceCheckers that name them through a field
// index, ReferenceGrant events through another, and a ServiceChecker finds its windows through a third. It must not
// read a Service that internal/tenancy denies, nor its EndpointSlices.
package controller
