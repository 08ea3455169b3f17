package tenancy

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/checkerstatus"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

// Flag is the manager flag that makes cross-namespace references need a ReferenceGrant (Flux's name for the same
// lockdown).
const Flag = "--no-cross-namespace-refs"

// What a ReferenceGrant must name: ServiceCheckers as the referrers, core Services as the referents.
const (
	fromGroup = "maintenance.mamrezb.com"
	fromKind  = "ServiceChecker"
	toGroup   = ""
	toKind    = "Service"
)

// Policy is how references to Services in another namespace than the ServiceChecker's are judged.
type Policy struct {
	// DenyCrossNamespace is set by --no-cross-namespace-refs: such a reference needs a ReferenceGrant.
	DenyCrossNamespace bool
	// GrantsInstalled is true when the cluster serves the ReferenceGrant CRD. Without it nobody can consent, so
	// with DenyCrossNamespace every cross-namespace reference is denied.
	GrantsInstalled bool
}

// Allowed reports whether a ServiceChecker in checkerNamespace may read service. grants are the ReferenceGrants of
// the Service's namespace; any other grant is ignored, since only the owner of a namespace can consent for it.
//
// A grant allows the reference when one of its from entries names group maintenance.mamrezb.com, kind ServiceChecker
// and checkerNamespace, and one of its to entries names group "" and kind Service, with no name or the Service's
// name (Gateway API matches from and to entries independently).
func Allowed(p Policy, checkerNamespace string, service types.NamespacedName,
	grants []gatewayv1beta1.ReferenceGrant) bool {
	if !p.DenyCrossNamespace || service.Namespace == checkerNamespace {
		return true
	}
	if !p.GrantsInstalled {
		return false
	}
	for i := range grants {
		g := &grants[i]
		if g.Namespace == service.Namespace && grantsFrom(g, checkerNamespace) && grantsTo(g, service.Name) {
			return true
		}
	}
	return false
}

func grantsFrom(g *gatewayv1beta1.ReferenceGrant, checkerNamespace string) bool {
	return slices.ContainsFunc(g.Spec.From, func(f gatewayv1beta1.ReferenceGrantFrom) bool {
		return f.Group == fromGroup && f.Kind == fromKind && string(f.Namespace) == checkerNamespace
	})
}

func grantsTo(g *gatewayv1beta1.ReferenceGrant, service string) bool {
	return slices.ContainsFunc(g.Spec.To, func(t gatewayv1beta1.ReferenceGrantTo) bool {
		// An unset (or empty) name grants every Service of the namespace.
		return t.Group == toGroup && t.Kind == toKind && (t.Name == nil || *t.Name == "" || string(*t.Name) == service)
	})
}

// Denied is the verdict of a reference Allowed refuses: not ready, no endpoints, and a message naming the flag and
// the ReferenceGrant that would allow it. It says nothing about the Service itself, which was not read.
func Denied(p Policy, checkerNamespace string, service types.NamespacedName) readiness.Verdict {
	msg := fmt.Sprintf("this ServiceChecker may not read Services of namespace %s: the manager runs with %s; "+
		"to allow it, create in namespace %s a ReferenceGrant (gateway.networking.k8s.io/v1beta1) with "+
		"from: [{group: %s, kind: %s, namespace: %s}] and to: [{group: \"\", kind: %s, name: %s}]",
		service.Namespace, Flag, service.Namespace, fromGroup, fromKind, checkerNamespace, toKind, service.Name)
	if !p.GrantsInstalled {
		msg += "; the ReferenceGrant CRD is not installed in this cluster: install Gateway API's ReferenceGrant " +
			"CRD first, then restart the manager"
	}
	return readiness.Verdict{Reason: v1alpha1.ReasonCrossNamespaceReferenceDenied, Message: msg}
}

// IndexTargetNamespaces is the field index of ServiceCheckers by the namespaces, other than their own, of the
// Services they list. A ReferenceGrant event looks up, per namespace it grants to, only the ServiceCheckers that
// reach into its namespace, whatever the number of ServiceCheckers.
const IndexTargetNamespaces = "spec.services.crossNamespace"

// TargetNamespaces returns a ServiceChecker's keys in IndexTargetNamespaces: the distinct namespaces, other than
// its own, of the Services it lists.
func TargetNamespaces(sc *v1alpha1.ServiceChecker) []string {
	var namespaces []string
	for _, t := range checkerstatus.Targets(sc) {
		if ns := t.Service.Namespace; ns != sc.Namespace && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	return namespaces
}

// FromNamespaces returns the namespaces whose ServiceCheckers a ReferenceGrant can grant access to: those of its
// from entries for ServiceCheckers, when one of its to entries is for Services; nil when it concerns other kinds.
// A change to the grant can only change the verdicts of the ServiceCheckers of these namespaces that list a
// Service of the grant's namespace (the caller maps both the old and the new grant of an update).
func FromNamespaces(g *gatewayv1beta1.ReferenceGrant) []string {
	if !slices.ContainsFunc(g.Spec.To, func(t gatewayv1beta1.ReferenceGrantTo) bool {
		return t.Group == toGroup && t.Kind == toKind
	}) {
		return nil
	}
	var namespaces []string
	for _, f := range g.Spec.From {
		if f.Group == fromGroup && f.Kind == fromKind && !slices.Contains(namespaces, string(f.Namespace)) {
			namespaces = append(namespaces, string(f.Namespace))
		}
	}
	return namespaces
}
