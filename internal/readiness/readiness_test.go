package readiness

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

func clusterIP() *corev1.Service {
	return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}
}

// pod is an endpoint backed by a Pod, as the EndpointSlice controller writes it.
func pod(name, addr string, ready, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses:  []string{addr},
		Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: ready, Terminating: terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: name, UID: types.UID("uid-" + name)},
	}
}

// conditions is a Pod endpoint with each condition given (nil = unset).
func conditions(name, addr string, ready, serving, terminating *bool) discoveryv1.Endpoint {
	ep := pod(name, addr, ready, terminating)
	ep.Conditions.Serving = serving
	return ep
}

// publishNotReady is a headless Service publishing not-ready addresses, as a StatefulSet's governing Service is.
func publishNotReady() *corev1.Service {
	return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone,
		PublishNotReadyAddresses: true}}
}

// addr is an endpoint without targetRef, as in a hand-made slice of a selectorless Service.
func addr(a string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func slice(family discoveryv1.AddressType, port int32, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{
		AddressType: family,
		Endpoints:   eps,
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To(port)}},
	}
}

func manyPods(from, to int, ready bool) []discoveryv1.Endpoint {
	var eps []discoveryv1.Endpoint
	for i := from; i < to; i++ {
		eps = append(eps, pod(fmt.Sprintf("p%d", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250), ptr.To(ready), nil))
	}
	return eps
}

func TestEvaluate(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	v4, v6 := discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6

	tests := []struct {
		name      string
		service   *corev1.Service
		slices    []discoveryv1.EndpointSlice
		minReady  int32
		ready     bool
		endpoints int32
		reason    string
	}{
		{name: "service missing", service: nil, minReady: 1, reason: v1alpha1.ReasonServiceNotFound},
		{name: "service missing ignores stale slices", service: nil,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, pod("a", "10.0.0.1", yes, nil))}, minReady: 1,
			reason: v1alpha1.ReasonServiceNotFound},
		{name: "external name", minReady: 1, reason: v1alpha1.ReasonExternalNameService,
			service: &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}},
		{name: "no slices", service: clusterIP(), minReady: 1, reason: v1alpha1.ReasonNoReadyEndpoints},
		{name: "empty slice", service: clusterIP(), slices: []discoveryv1.EndpointSlice{slice(v4, 80)}, minReady: 1,
			reason: v1alpha1.ReasonNoReadyEndpoints},
		{name: "ready true", service: clusterIP(), minReady: 1, ready: true, endpoints: 1, reason: v1alpha1.ReasonReady,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, pod("a", "10.0.0.1", yes, nil))}},
		{name: "ready unset counts as ready", service: clusterIP(), minReady: 1, ready: true, endpoints: 1,
			reason: v1alpha1.ReasonReady, slices: []discoveryv1.EndpointSlice{slice(v4, 80, pod("a", "10.0.0.1", nil, nil))}},
		{name: "ready false", service: clusterIP(), minReady: 1, reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, pod("a", "10.0.0.1", no, nil))}},
		{name: "serving but terminating is not ready", service: clusterIP(), minReady: 1,
			reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, discoveryv1.Endpoint{
				Addresses:  []string{"10.0.0.1"},
				Conditions: discoveryv1.EndpointConditions{Ready: no, Serving: yes, Terminating: yes},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "a"},
			})}},
		{name: "terminating with ready unset is not ready", service: clusterIP(), minReady: 1,
			reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, pod("a", "10.0.0.1", nil, yes))}},
		{name: "fewer than minReady", service: clusterIP(), minReady: 3, endpoints: 2,
			reason: v1alpha1.ReasonNotEnoughReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80,
				pod("a", "10.0.0.1", yes, nil), pod("b", "10.0.0.2", yes, nil), pod("c", "10.0.0.3", no, nil))}},
		{name: "exactly minReady", service: clusterIP(), minReady: 2, ready: true, endpoints: 2, reason: v1alpha1.ReasonReady,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, pod("a", "10.0.0.1", yes, nil), pod("b", "10.0.0.2", yes, nil))}},
		{name: "minReady zero is treated as one", service: clusterIP(), minReady: 0,
			reason: v1alpha1.ReasonNoReadyEndpoints},
		{name: "more than 100 endpoints over several slices", service: clusterIP(), minReady: 150, ready: true,
			endpoints: 150, reason: v1alpha1.ReasonReady,
			slices: []discoveryv1.EndpointSlice{
				slice(v4, 80, manyPods(0, 100, true)...),
				slice(v4, 80, manyPods(100, 150, true)...),
				slice(v4, 80, manyPods(150, 160, false)...),
			}},
		{name: "dual-stack pod counts once", service: clusterIP(), minReady: 2, endpoints: 1,
			reason: v1alpha1.ReasonNotEnoughReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{
				slice(v4, 80, pod("a", "10.0.0.1", yes, nil)),
				slice(v6, 80, pod("a", "fd00::1", yes, nil)),
			}},
		{name: "port change: pod in old and new slice counts once", service: clusterIP(), minReady: 1, ready: true,
			endpoints: 1, reason: v1alpha1.ReasonReady,
			slices: []discoveryv1.EndpointSlice{
				slice(v4, 80, pod("a", "10.0.0.1", yes, nil)),
				slice(v4, 8080, pod("a", "10.0.0.1", yes, nil)),
			}},
		{name: "endpoint ready in one of its slices is ready", service: clusterIP(), minReady: 1, ready: true,
			endpoints: 1, reason: v1alpha1.ReasonReady,
			slices: []discoveryv1.EndpointSlice{
				slice(v4, 80, pod("a", "10.0.0.1", no, nil)),
				slice(v4, 8080, pod("a", "10.0.0.1", yes, nil)),
			}},
		{name: "selectorless service with hand-made slices", minReady: 2, ready: true, endpoints: 2,
			reason:  v1alpha1.ReasonReady,
			service: &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: nil}},
			slices: []discoveryv1.EndpointSlice{
				slice(v4, 5432, addr("192.168.1.10", yes), addr("192.168.1.11", nil), addr("192.168.1.12", no)),
			}},
		{name: "same address without targetRef in two slices counts once", service: clusterIP(), minReady: 2,
			endpoints: 1, reason: v1alpha1.ReasonNotEnoughReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{
				slice(v4, 80, addr("192.168.1.10", yes)),
				slice(v4, 443, addr("192.168.1.10", yes)),
			}},
		// publishNotReadyAddresses: the EndpointSlice controller writes ready=true whatever the Pod's state, and
		// serving=false while the Pod is not ready; serving tells the truth.
		{name: "publishNotReadyAddresses: pod not ready (ready forced true, serving false)", minReady: 1,
			service: publishNotReady(), reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 5432, conditions("db-0", "10.0.0.1", yes, no, nil))}},
		{name: "publishNotReadyAddresses: pod ready", minReady: 1, ready: true, endpoints: 1,
			service: publishNotReady(), reason: v1alpha1.ReasonReady,
			slices: []discoveryv1.EndpointSlice{slice(v4, 5432, conditions("db-0", "10.0.0.1", yes, yes, nil))}},
		{name: "publishNotReadyAddresses: one of two pods serving", minReady: 2, endpoints: 1,
			service: publishNotReady(), reason: v1alpha1.ReasonNotEnoughReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 5432,
				conditions("db-0", "10.0.0.1", yes, yes, nil), conditions("db-1", "10.0.0.2", yes, no, nil))}},
		{name: "publishNotReadyAddresses: terminating pod still serving is not ready", minReady: 1,
			service: publishNotReady(), reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 5432, conditions("db-0", "10.0.0.1", yes, yes, yes))}},
		{name: "serving set wins over ready unset", service: clusterIP(), minReady: 1,
			reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, conditions("a", "10.0.0.1", nil, no, nil))}},
		{name: "serving unset: ready false decides", service: clusterIP(), minReady: 1,
			reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, conditions("a", "10.0.0.1", no, nil, nil))}},
		{name: "endpoint with neither address nor targetRef is ignored", service: clusterIP(), minReady: 1,
			reason: v1alpha1.ReasonNoReadyEndpoints,
			slices: []discoveryv1.EndpointSlice{slice(v4, 80, discoveryv1.Endpoint{})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.service, tt.slices, tt.minReady)
			if got.Ready != tt.ready || got.ReadyEndpoints != tt.endpoints || got.Reason != tt.reason {
				t.Errorf("Evaluate() = ready %v, endpoints %d, reason %s; want ready %v, endpoints %d, reason %s (message %q)",
					got.Ready, got.ReadyEndpoints, got.Reason, tt.ready, tt.endpoints, tt.reason, got.Message)
			}
			if got.Message == "" {
				t.Errorf("Evaluate() gave no message for reason %s", got.Reason)
			}
		})
	}
}
