// Package localcluster starts and stops a local Kubernetes control plane for run-local and the e2e suite:
// etcd and kube-apiserver through controller-runtime's envtest, and optionally kube-controller-manager running
// only its EndpointSlice and Endpoints controllers (all built into bin/k8s by `make controlplane`). It writes an
// admin kubeconfig and keeps the controller manager's log.
//
// It runs real binaries; it must not fake any part of Kubernetes. Playing the kubelet is internal/kubeletsim's job.
package localcluster
