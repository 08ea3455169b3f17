// Package render prints watched Services and MaintenanceWindows for people and programs: kubectl-style tables (with
// colour on a terminal), JSON and YAML with the API's field names, watch lines (Services and windows), and the
// one-line maintenance summary naming the active windows.
//
// It formats only: no network, no clock (callers pass now), no decisions about readiness.
package render
