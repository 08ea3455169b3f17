// Package localcluster starts and stops a local Kubernetes control plane (kube-apiserver and etcd built into
// bin/k8s by `make controlplane`) for run-local and the test suites, and writes an admin kubeconfig for it.
//
// It runs real binaries through controller-runtime's envtest; it must not fake any part of the API server.
package localcluster
