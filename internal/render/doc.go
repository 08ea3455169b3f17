// Package render prints watched Services for people and programs: kubectl-style tables (with colour on a
// terminal), JSON and YAML with the API's field names, watch lines, and the one-line maintenance summary.
//
// It formats only: no network, no clock (callers pass now), no decisions about readiness.
package render
