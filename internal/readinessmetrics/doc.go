// Package readinessmetrics exports the ServiceCheckers' verdicts as Prometheus metrics and removes the
// series of entries and ServiceCheckers that no longer exist, so stale Services do not linger on dashboards.
package readinessmetrics
