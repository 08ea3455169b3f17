// Package tenancy decides whether a ServiceChecker may read a Service in another namespace.
//
// With --no-cross-namespace-refs a ServiceChecker reads only the Services of its own namespace, unless the
// Service's namespace consents with a Gateway API ReferenceGrant (gateway.networking.k8s.io/v1beta1) from
// ServiceCheckers of the ServiceChecker's namespace to Services. Allowed is the one place that rule lives; Denied is
// the verdict a refused reference gets; the index and map helpers let a ReferenceGrant event reach exactly the
// ServiceCheckers it concerns.
//
// It is pure: the caller gathers the ReferenceGrants of the Service's namespace from the informer cache. It must not
// read the API server, and a denied reference must not cause the caller to read the Service or its EndpointSlices.
package tenancy
