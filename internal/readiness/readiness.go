package readiness

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// Verdict is the readiness of one Service.
type Verdict struct {
	// Ready is true when at least minReady distinct endpoints are ready.
	Ready bool
	// ReadyEndpoints counts distinct ready endpoints across all slices.
	ReadyEndpoints int32
	// Reason is one of the v1alpha1.Reason* constants.
	Reason string
	// Message explains the verdict in a sentence.
	Message string
}

// Evaluate judges a Service from its EndpointSlices. service is nil when the Service does not exist;
// slices are the EndpointSlices labelled kubernetes.io/service-name=<service> in its namespace;
// minReady below 1 is treated as 1.
//
// An endpoint is ready when it is not terminating and conditions.serving is true; when serving is unset (hand-made
// slices), conditions.ready decides, true or unset meaning ready. Serving comes first because for a Service with
// publishNotReadyAddresses (StatefulSet headless Services) the EndpointSlice controller sets ready=true whatever the
// Pod's state; serving is the Pod's real readiness in both kinds of Service. An endpoint is
// identified by its targetRef when it has one (so a dual-stack Pod, present in an IPv4 and an IPv6 slice,
// counts once), else by its first address; the same endpoint found in several slices counts once and is
// ready if any of its copies is ready.
func Evaluate(service *corev1.Service, slices []discoveryv1.EndpointSlice, minReady int32) Verdict {
	minReady = max(minReady, 1)
	if service == nil {
		return Verdict{
			Reason:  v1alpha1.ReasonServiceNotFound,
			Message: "Service not found; create it or fix the name or namespace in spec.services",
		}
	}
	if service.Spec.Type == corev1.ServiceTypeExternalName {
		return Verdict{
			Reason: v1alpha1.ReasonExternalNameService,
			Message: fmt.Sprintf("Service is of type ExternalName (%s) and has no endpoints to check; "+
				"list the Service that backs it instead", service.Spec.ExternalName),
		}
	}

	ready, total := countEndpoints(slices)
	v := Verdict{ReadyEndpoints: ready}
	switch {
	case ready >= minReady:
		v.Ready = true
		v.Reason = v1alpha1.ReasonReady
		v.Message = fmt.Sprintf("%d of %d endpoints ready (minReady %d)", ready, total, minReady)
	case ready == 0:
		v.Reason = v1alpha1.ReasonNoReadyEndpoints
		if total == 0 {
			v.Message = "no endpoints: no EndpointSlice lists an address for this Service (does its selector match any Pod?)"
		} else {
			v.Message = fmt.Sprintf("0 of %d endpoints ready", total)
		}
	default:
		v.Reason = v1alpha1.ReasonNotEnoughReadyEndpoints
		v.Message = fmt.Sprintf("%d of %d endpoints ready, fewer than minReady %d", ready, total, minReady)
	}
	return v
}

// countEndpoints returns how many distinct endpoints are ready, and how many distinct endpoints exist.
func countEndpoints(slices []discoveryv1.EndpointSlice) (ready, total int32) {
	seen := make(map[string]bool) // endpoint identity -> ready in any slice
	for i := range slices {
		for j := range slices[i].Endpoints {
			ep := &slices[i].Endpoints[j]
			id := identity(ep)
			if id == "" {
				continue // no address and no targetRef: nothing a client could reach
			}
			seen[id] = seen[id] || isReady(ep.Conditions)
		}
	}
	for _, r := range seen {
		total++
		if r {
			ready++
		}
	}
	return ready, total
}

func identity(ep *discoveryv1.Endpoint) string {
	if ref := ep.TargetRef; ref != nil && (ref.UID != "" || ref.Name != "") {
		return "ref/" + ref.Kind + "/" + ref.Namespace + "/" + ref.Name + "/" + string(ref.UID)
	}
	if len(ep.Addresses) > 0 {
		return "addr/" + ep.Addresses[0]
	}
	return ""
}

func isReady(c discoveryv1.EndpointConditions) bool {
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	if c.Serving != nil {
		return *c.Serving
	}
	return c.Ready == nil || *c.Ready
}
