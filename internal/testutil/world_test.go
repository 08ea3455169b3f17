package testutil

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestEndpointSlice(t *testing.T) {
	for _, tc := range []struct {
		n     int
		ready bool
	}{{2, true}, {3, false}, {4, true}} {
		s := EndpointSlice("shop", "checkout", tc.n, tc.ready)
		if s.Name != "checkout-1" || s.Namespace != "shop" || s.Labels[discoveryv1.LabelServiceName] != "checkout" {
			t.Errorf("EndpointSlice(%d, %t) is %s/%s labelled %v; want shop/checkout-1 labelled for Service checkout",
				tc.n, tc.ready, s.Namespace, s.Name, s.Labels)
		}
		if len(s.Endpoints) != tc.n {
			t.Fatalf("EndpointSlice(%d, %t) has %d endpoints", tc.n, tc.ready, len(s.Endpoints))
		}
		seen := map[string]bool{}
		for _, e := range s.Endpoints {
			if *e.Conditions.Ready != tc.ready || seen[e.Addresses[0]] || e.TargetRef.Namespace != "shop" {
				t.Errorf("EndpointSlice(%d, %t): endpoint %+v (want ready=%t, a distinct address, a Pod in shop)",
					tc.n, tc.ready, e, tc.ready)
			}
			seen[e.Addresses[0]] = true
		}
	}
	if svc := Service("shop", "checkout"); svc.Namespace != "shop" || svc.Name != "checkout" || len(svc.Spec.Ports) != 1 {
		t.Errorf("Service = %+v; want shop/checkout with one port", svc)
	}
}
