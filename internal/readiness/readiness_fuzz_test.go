package readiness_test

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

// FuzzEvaluate judges arbitrary EndpointSlices, decoded from the fuzzer's bytes by decodeSlices, for every kind of
// Service. Whatever the input: no panic, a reason and a message; at most as many ready endpoints as distinct
// endpoints, and exactly as many as the rule of Evaluate's doc comment counts; ready iff at least max(minReady, 1);
// the order of slices and endpoints, and a second copy of every slice, change nothing.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{}, int32(1), uint8(1))
	f.Add([]byte{0, 0x08, 0x01, 0, 0, 0x09, 0x01, 0}, int32(2), uint8(1))                   // two ready Pods
	f.Add([]byte{0, 0x08, 0x01, 0, 1, 0x08, 0x02, 0}, int32(1), uint8(1))                   // one Pod in two slices, ready in one
	f.Add([]byte{0, 0x00, 0x11, 0, 0, 0x01, 0x19, 0}, int32(1), uint8(1))                   // terminating endpoints
	f.Add([]byte{0, 0x07, 0x01, 0, 2, 0x0f, 0x05, 0}, int32(0), uint8(1))                   // no address, no ref
	f.Add([]byte{0, 0x08, 0x06, 0, 0, 0x09, 0x09, 0, 0, 0x0a, 0x00, 0}, int32(3), uint8(3)) // headless, serving decides
	f.Add([]byte{0, 0x48, 0x01, 1, 3, 0x48, 0x01, 2}, int32(-5), uint8(1))                  // same UID, other kind
	f.Add([]byte{0, 0x08, 0x01, 0}, int32(1), uint8(0))                                     // no Service
	f.Add([]byte{0, 0x08, 0x01, 0}, int32(1), uint8(2))                                     // ExternalName
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x80, 0x80, 0x80}, int32(2147483647), uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, minReady int32, kind uint8) {
		service := decodeService(kind)
		endpointSlices := decodeSlices(data)
		v := readiness.Evaluate(service, endpointSlices, minReady)
		if v.Reason == "" || v.Message == "" {
			t.Fatalf("verdict %+v: an empty reason or message", v)
		}
		switch {
		case service == nil:
			if v.Ready || v.ReadyEndpoints != 0 || v.Reason != v1alpha1.ReasonServiceNotFound {
				t.Fatalf("no Service: %+v, want not ready, 0 endpoints, ServiceNotFound", v)
			}
			return
		case service.Spec.Type == corev1.ServiceTypeExternalName:
			if v.Ready || v.ReadyEndpoints != 0 || v.Reason != v1alpha1.ReasonExternalNameService {
				t.Fatalf("ExternalName Service: %+v, want not ready, 0 endpoints, ExternalNameService", v)
			}
			return
		}

		ready, distinct := model(endpointSlices)
		if v.ReadyEndpoints < 0 || v.ReadyEndpoints > distinct {
			t.Fatalf("%d ready endpoints of %d distinct ones\n%s", v.ReadyEndpoints, distinct, describe(endpointSlices))
		}
		if v.ReadyEndpoints != ready {
			t.Fatalf("%d ready endpoints, the documented rule counts %d\n%s", v.ReadyEndpoints, ready, describe(endpointSlices))
		}
		if want := v.ReadyEndpoints >= max(minReady, 1); v.Ready != want {
			t.Fatalf("ready = %v with %d ready endpoints and minReady %d", v.Ready, v.ReadyEndpoints, minReady)
		}
		var wantReason string
		switch {
		case v.Ready:
			wantReason = v1alpha1.ReasonReady
		case v.ReadyEndpoints == 0:
			wantReason = v1alpha1.ReasonNoReadyEndpoints
		default:
			wantReason = v1alpha1.ReasonNotEnoughReadyEndpoints
		}
		if v.Reason != wantReason {
			t.Fatalf("reason %s for %+v, want %s", v.Reason, v, wantReason)
		}

		if got := readiness.Evaluate(service, reversed(endpointSlices), minReady); got != v {
			t.Fatalf("the order of slices and endpoints changes the verdict: %+v, then %+v\n%s", v, got, describe(endpointSlices))
		}
		if got := readiness.Evaluate(service, append(endpointSlices, endpointSlices...), minReady); got != v {
			t.Fatalf("a second copy of every slice changes the verdict: %+v, then %+v\n%s", v, got, describe(endpointSlices))
		}
	})
}

// decodeService maps a byte to no Service, a ClusterIP, an ExternalName or a headless Service publishing not-ready
// addresses.
func decodeService(kind uint8) *corev1.Service {
	switch kind % 4 {
	case 0:
		return nil
	case 2:
		return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	case 3:
		return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone,
			PublishNotReadyAddresses: true}}
	}
	return &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}
}

// decodeSlices reads up to four EndpointSlices, one endpoint per 4 bytes (a shorter tail is ignored). Small pools of
// addresses, names and UIDs make the fuzzer find endpoints that share an identity:
//
//	b0: the slice (b0 % 4) and its address type (bit 2: IPv6)
//	b1: bits 0-2 the first address (7: none), bit 3 a targetRef, bits 4-5 its name (0: empty), bit 6 its UID,
//	    bit 7 a second address
//	b2: bits 0-1 ready, 2-3 serving, 4-5 terminating (0 and 3: unset, 1: true, 2: false)
//	b3: bit 0 the targetRef's kind (Pod or empty), bit 1 its namespace (shop or data)
func decodeSlices(data []byte) []discoveryv1.EndpointSlice {
	out := make([]discoveryv1.EndpointSlice, 4)
	for i := range out {
		out[i].Name = fmt.Sprintf("api-%d", i)
		out[i].AddressType = discoveryv1.AddressTypeIPv4
	}
	for ; len(data) >= 4; data = data[4:] {
		b0, b1, b2, b3 := data[0], data[1], data[2], data[3]
		s := &out[b0%4]
		if b0&4 != 0 {
			s.AddressType = discoveryv1.AddressTypeIPv6
		}
		var ep discoveryv1.Endpoint
		if a := b1 & 7; a != 7 {
			ep.Addresses = append(ep.Addresses, fmt.Sprintf("10.0.0.%d", a))
			if b1&0x80 != 0 {
				ep.Addresses = append(ep.Addresses, fmt.Sprintf("fd00::%d", a))
			}
		}
		if b1&8 != 0 {
			ref := &corev1.ObjectReference{Namespace: "shop"}
			if b3&1 == 0 {
				ref.Kind = "Pod"
			}
			if b3&2 != 0 {
				ref.Namespace = "data"
			}
			if n := (b1 >> 4) & 3; n != 0 {
				ref.Name = fmt.Sprintf("api-%d", n)
			}
			if b1&0x40 != 0 {
				ref.UID = types.UID(fmt.Sprintf("uid-%d", b1&7))
			}
			ep.TargetRef = ref
		}
		ep.Conditions = discoveryv1.EndpointConditions{
			Ready: condition(b2), Serving: condition(b2 >> 2), Terminating: condition(b2 >> 4)}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return out
}

func condition(bits byte) *bool {
	switch bits & 3 {
	case 1:
		t := true
		return &t
	case 2:
		f := false
		return &f
	}
	return nil
}

// model counts ready and distinct endpoints by the rule of Evaluate's doc comment, written out independently: an
// endpoint is its targetRef when that names something (a name or a UID), else its first address, else nothing; it is
// ready when not terminating and serving, or, serving unset, ready true or unset; a copy ready anywhere makes it ready.
func model(in []discoveryv1.EndpointSlice) (ready, distinct int32) {
	type ref struct{ kind, namespace, name, uid string }
	type identity struct {
		ref     ref
		address string
	}
	state := map[identity]bool{}
	for _, s := range in {
		for _, ep := range s.Endpoints {
			var id identity
			switch {
			case ep.TargetRef != nil && (ep.TargetRef.Name != "" || ep.TargetRef.UID != ""):
				r := ep.TargetRef
				id.ref = ref{r.Kind, r.Namespace, r.Name, string(r.UID)}
			case len(ep.Addresses) > 0:
				id.address = ep.Addresses[0]
			default:
				continue
			}
			c := ep.Conditions
			isReady := c.Terminating == nil || !*c.Terminating
			if isReady && c.Serving != nil {
				isReady = *c.Serving
			} else if isReady {
				isReady = c.Ready == nil || *c.Ready
			}
			state[id] = state[id] || isReady
		}
	}
	for _, r := range state {
		distinct++
		if r {
			ready++
		}
	}
	return ready, distinct
}

// reversed returns the slices in reverse order, each with its endpoints reversed.
func reversed(in []discoveryv1.EndpointSlice) []discoveryv1.EndpointSlice {
	out := make([]discoveryv1.EndpointSlice, len(in))
	for i, s := range in {
		s.Endpoints = slices.Clone(s.Endpoints)
		slices.Reverse(s.Endpoints)
		out[len(in)-1-i] = s
	}
	return out
}

func describe(in []discoveryv1.EndpointSlice) string {
	var out string
	for _, s := range in {
		for _, ep := range s.Endpoints {
			out += fmt.Sprintf("  %s %v ref=%+v ready=%s serving=%s terminating=%s\n", s.Name, ep.Addresses,
				ep.TargetRef, show(ep.Conditions.Ready), show(ep.Conditions.Serving), show(ep.Conditions.Terminating))
		}
	}
	return out
}

func show(b *bool) string {
	if b == nil {
		return "unset"
	}
	return fmt.Sprint(*b)
}
