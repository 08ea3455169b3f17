// Package kubeletsim plays the kubelet's part on a control plane that has none (the e2e suite and run-local):
// it registers a Node, binds Pods to it (the scheduler's one act it needs), and writes their status (phase, IPs,
// the Ready condition) the way a kubelet would. Kubernetes' own EndpointSlice controller, running in
// kube-controller-manager, turns that status into EndpointSlices.
//
// It must not write EndpointSlices, or anything else a real controller owns.
package kubeletsim
