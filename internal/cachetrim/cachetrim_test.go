package cachetrim

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

// TestVerdictsUnchanged evaluates readiness on full and on trimmed objects: every verdict must be the same.
func TestVerdictsUnchanged(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "shop", Name: "checkout", UID: "u1", ResourceVersion: "7",
		Labels:      map[string]string{"app": "checkout"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}}
	services := map[string]*corev1.Service{
		"ClusterIP": {ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10",
			Selector: map[string]string{"app": "checkout"}, Ports: []corev1.ServicePort{{Port: 80}}}},
		"ExternalName": {ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
	}
	endpoint := func(pod, addr string, ready, serving, terminating *bool) discoveryv1.Endpoint {
		ep := discoveryv1.Endpoint{Addresses: []string{addr, addr + "0"}, NodeName: ptr.To("node-1"), Zone: ptr.To("a"),
			Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}}
		if pod != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: pod, UID: types.UID("uid-" + pod)}
		}
		return ep
	}
	sliceMeta := metav1.ObjectMeta{Namespace: "shop", Name: "checkout-1", Labels: map[string]string{
		discoveryv1.LabelServiceName: "checkout", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}}
	slices := []discoveryv1.EndpointSlice{
		{ObjectMeta: sliceMeta, AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
			Endpoints: []discoveryv1.Endpoint{
				endpoint("a", "10.0.0.1", ptr.To(true), ptr.To(true), ptr.To(false)),
				endpoint("b", "10.0.0.2", ptr.To(false), ptr.To(true), ptr.To(true)),
				endpoint("", "10.0.0.3", nil, nil, nil),
			}},
		{ObjectMeta: sliceMeta, AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints: []discoveryv1.Endpoint{endpoint("a", "fd00::1", ptr.To(true), nil, nil)}},
	}
	for name, svc := range services {
		for _, minReady := range []int32{1, 2, 3} {
			want := readiness.Evaluate(svc, slices, minReady)
			trimmedSvc, _ := Service(svc)
			trimmed := make([]discoveryv1.EndpointSlice, len(slices))
			for i := range slices {
				s, _ := EndpointSlice(&slices[i])
				trimmed[i] = *s.(*discoveryv1.EndpointSlice)
			}
			got := readiness.Evaluate(trimmedSvc.(*corev1.Service), trimmed, minReady)
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("%s, minReady %d: trimmed verdict %+v, full verdict %+v", name, minReady, got, want)
			}
		}
	}
	s, _ := EndpointSlice(&slices[0])
	if got := s.(*discoveryv1.EndpointSlice).Labels; len(got) != 1 || got[discoveryv1.LabelServiceName] != "checkout" {
		t.Errorf("the slice keeps labels %v; want only %s, which the controller selects by", got, discoveryv1.LabelServiceName)
	}
	if other, _ := Service("not a Service"); other != "not a Service" {
		t.Errorf("a foreign object was changed: %v", other)
	}
}
