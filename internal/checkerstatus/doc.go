// Package checkerstatus turns a ServiceChecker's spec, the readiness verdicts of its Services and the
// MaintenanceWindows active for it into its status: one entry per distinct Service (with the window covering it), the
// counters, and the Ready and Maintenance conditions. Where *in maintenance* is decided: Build, with windows.go.
//
// It is pure: the caller passes the previous status (to keep transition times), the active windows (evaluated by
// internal/windows at the same now) and the current time. It must not read the API server or the clock; gathering
// and writing belong to internal/controller.
package checkerstatus
