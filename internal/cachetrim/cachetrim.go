// Package cachetrim keeps, in the manager's informer cache, only the fields of Services and EndpointSlices that
// readiness reads (internal/readiness) and the controller indexes and selects by. Every Service and EndpointSlice
// of the cluster is cached, so what is dropped here is saved tens of thousands of times (see make bench).
//
// A field readiness starts to read must be kept here too; the test beside this file checks the verdicts agree.
package cachetrim

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ByObject returns the cache options that trim Services and EndpointSlices.
func ByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Service{}:            {Transform: Service},
		&discoveryv1.EndpointSlice{}: {Transform: EndpointSlice},
	}
}

// Service keeps the Service's identity and type (ExternalName Services have no endpoints to check).
func Service(obj any) (any, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	return &corev1.Service{TypeMeta: s.TypeMeta, ObjectMeta: identity(s.ObjectMeta, nil),
		Spec: corev1.ServiceSpec{Type: s.Spec.Type, ExternalName: s.Spec.ExternalName}}, nil
}

// EndpointSlice keeps the slice's Service label and, per endpoint, what identifies it and its conditions.
func EndpointSlice(obj any) (any, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	out := &discoveryv1.EndpointSlice{TypeMeta: s.TypeMeta, AddressType: s.AddressType,
		ObjectMeta: identity(s.ObjectMeta, []string{discoveryv1.LabelServiceName})}
	if len(s.Endpoints) > 0 {
		out.Endpoints = make([]discoveryv1.Endpoint, len(s.Endpoints))
	}
	for i, ep := range s.Endpoints {
		trimmed := discoveryv1.Endpoint{Conditions: ep.Conditions}
		if len(ep.Addresses) > 0 {
			trimmed.Addresses = []string{ep.Addresses[0]} // a copy: a slice of the original would keep it alive
		}
		if ref := ep.TargetRef; ref != nil {
			trimmed.TargetRef = &corev1.ObjectReference{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, UID: ref.UID}
		}
		out.Endpoints[i] = trimmed
	}
	return out, nil
}

// identity keeps what names and versions an object, and only the listed labels.
func identity(m metav1.ObjectMeta, labels []string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp}
	for _, l := range labels {
		if v, ok := m.Labels[l]; ok {
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[l] = v
		}
	}
	return out
}
