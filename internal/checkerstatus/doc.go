// Package checkerstatus turns a ServiceChecker's spec and the readiness verdicts of its Services into its
// status: one entry per distinct Service, the counters, and the Ready and Maintenance conditions.
//
// It is pure: the caller passes the previous status (to keep transition times) and the current time.
// It must not read the API server or the clock; gathering and writing belong to internal/controller.
package checkerstatus
