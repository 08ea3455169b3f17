// Package manual switches maintenance on and off by hand, for `mwmctl maintenance on/off`. It builds the one-off
// MaintenanceWindow that starts now (labelled maintenance.mamrezb.com/manual), decides which windows naming a
// ServiceChecker `off` ends (the active one-off ones: end set to now, at least a second after start) and which it
// leaves (the active recurring ones: suspending a schedule is its owner's call), and writes through the caller's
// kubeconfig, whose RBAC decides.
//
// Whether a window is active is decided by internal/windows at the caller's now, not read from status.phase, which
// lags the spec by a reconcile. The package reads no clock and prints nothing; the operator does the rest.
package manual
