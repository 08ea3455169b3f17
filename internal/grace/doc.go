// Package grace decides whether a critical Service that is not ready counts for maintenance yet: only once it has
// been not ready, continuously, for its grace period, counted from when the operator first saw it not ready. Where
// *within its grace period* is decided: Evaluate.
//
// It is pure: the caller passes when the Service was first seen not ready, the period and now. It must not read the
// API server or the clock.
package grace
