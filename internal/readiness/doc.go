// Package readiness decides whether one Service is ready from the Service and its EndpointSlices.
//
// It is pure: inputs in, verdict out. It must not read the API server, the clock or any global state,
// so that every rule is pinned by the table-driven test beside it.
package readiness
