// Package controller reconciles ServiceCheckers: it gathers each listed Service and its EndpointSlices from the
// informer cache, hands them to internal/readiness and internal/checkerstatus, and writes the status only when
// it differs. It records Events and metrics for readiness transitions. Before reading a Service in another namespace
// it asks internal/tenancy whether the ServiceChecker may (--no-cross-namespace-refs, ReferenceGrants).
//
// It must not decide readiness itself, and must not list every ServiceChecker per event: Service and
// EndpointSlice events reach the ServiceCheckers that name them through a field index, and ReferenceGrant events
// through another. It must not read a Service that internal/tenancy denies, nor its EndpointSlices.
package controller
