// Package testutil holds the helpers that the test suites would otherwise each write again: a free loopback
// address, the path of a built binary (bin/<name> or an environment variable), multi-document YAML decoded into
// unstructured objects, the RBAC rules of a Role or ClusterRole, a buffer a running process writes while a test
// reads it, a TCP proxy that passes, refuses or blackholes a process's traffic (StartProxy; ProxiedKubeconfig puts
// one between a kubeconfig and its API server), an HTTP reverse proxy that serves a backend under a path prefix and
// strips it, as an Ingress does (StartPrefixProxy), headless Chromium with per-tab records of console errors and
// requested hosts (StartBrowser), the Services and EndpointSlices that the suites and hack/bench create (Service,
// EndpointSlice), kube-apiserver and etcd with an admin kubeconfig for helm and kubectl (StartAdminEnv), and a
// loopback server laid out like GitHub's release downloads (Releases).
//
// Only tests and hack/bench import it; the manager and mwmctl must not. The helpers return errors (FreeAddr
// panics, like net/http/httptest, when the loopback interface refuses a listener) and never call Gomega, so that a
// plain program can use them as well as a Ginkgo suite.
package testutil
