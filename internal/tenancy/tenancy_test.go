package tenancy

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// grant is a ReferenceGrant in namespace ns with one from and one to entry.
func grant(ns string, from gatewayv1beta1.ReferenceGrantFrom, to gatewayv1beta1.ReferenceGrantTo) gatewayv1beta1.ReferenceGrant {
	return gatewayv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "allow"},
		Spec: gatewayv1beta1.ReferenceGrantSpec{
			From: []gatewayv1beta1.ReferenceGrantFrom{from},
			To:   []gatewayv1beta1.ReferenceGrantTo{to},
		},
	}
}

func checkersOf(ns string) gatewayv1beta1.ReferenceGrantFrom {
	return gatewayv1beta1.ReferenceGrantFrom{Group: "maintenance.mamrezb.com", Kind: "ServiceChecker",
		Namespace: gatewayv1beta1.Namespace(ns)}
}

func services(name string) gatewayv1beta1.ReferenceGrantTo {
	to := gatewayv1beta1.ReferenceGrantTo{Group: "", Kind: "Service"}
	if name != "" {
		to.Name = ptr.To(gatewayv1beta1.ObjectName(name))
	}
	return to
}

func TestAllowed(t *testing.T) {
	checkout := types.NamespacedName{Namespace: "shop", Name: "checkout"}
	deny := Policy{DenyCrossNamespace: true, GrantsInstalled: true}
	tests := []struct {
		name    string
		policy  Policy
		checker string // namespace of the ServiceChecker
		service types.NamespacedName
		grants  []gatewayv1beta1.ReferenceGrant
		want    bool
	}{
		{"flag off: any namespace, no grant", Policy{GrantsInstalled: true}, "team-a", checkout, nil, true},
		{"flag off and no CRD", Policy{}, "team-a", checkout, nil, true},
		{"flag on, same namespace needs no grant", deny, "shop", checkout, nil, true},
		{"flag on, same namespace without the CRD", Policy{DenyCrossNamespace: true}, "shop", checkout, nil, true},
		{"flag on, no grant", deny, "team-a", checkout, nil, false},
		{"grant for every Service of the namespace", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"), services(""))}, true},
		{"grant naming the Service", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"), services("checkout"))}, true},
		{"grant naming another Service", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"), services("payments"))}, false},
		{"grant with an empty to.name counts as unset", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"), gatewayv1beta1.ReferenceGrantTo{
				Kind: "Service", Name: ptr.To(gatewayv1beta1.ObjectName(""))})}, true},
		{"grant for another from-namespace", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-b"), services(""))}, false},
		{"grant from another kind (HTTPRoute)", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", gatewayv1beta1.ReferenceGrantFrom{
				Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Namespace: "team-a"}, services(""))}, false},
		{"grant from ServiceCheckers of another group", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", gatewayv1beta1.ReferenceGrantFrom{
				Group: "example.com", Kind: "ServiceChecker", Namespace: "team-a"}, services(""))}, false},
		{"grant to another kind (Secret)", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"),
				gatewayv1beta1.ReferenceGrantTo{Kind: "Secret"})}, false},
		{"grant to Services of another group", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"),
				gatewayv1beta1.ReferenceGrantTo{Group: "example.com", Kind: "Service"})}, false},
		{"grant in another namespace than the Service's", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("team-a", checkersOf("team-a"), services(""))}, false},
		{"from and to entries match independently", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "many"},
				Spec: gatewayv1beta1.ReferenceGrantSpec{
					From: []gatewayv1beta1.ReferenceGrantFrom{checkersOf("team-b"), checkersOf("team-a")},
					To:   []gatewayv1beta1.ReferenceGrantTo{{Kind: "Secret"}, services("checkout")},
				},
			}}, true},
		{"one matching grant among others", deny, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{
				grant("shop", checkersOf("team-b"), services("")),
				grant("shop", checkersOf("team-a"), services("checkout")),
			}, true},
		{"CRD missing: a grant cannot allow", Policy{DenyCrossNamespace: true}, "team-a", checkout,
			[]gatewayv1beta1.ReferenceGrant{grant("shop", checkersOf("team-a"), services(""))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.policy, tt.checker, tt.service, tt.grants); got != tt.want {
				t.Errorf("Allowed(%+v, %q, %s) = %v, want %v", tt.policy, tt.checker, tt.service, got, tt.want)
			}
		})
	}
}

func TestDenied(t *testing.T) {
	checkout := types.NamespacedName{Namespace: "shop", Name: "checkout"}
	v := Denied(Policy{DenyCrossNamespace: true, GrantsInstalled: true}, "team-a", checkout)
	if v.Ready || v.ReadyEndpoints != 0 || v.Reason != v1alpha1.ReasonCrossNamespaceReferenceDenied {
		t.Fatalf("Denied() = %+v, want not ready, 0 endpoints, reason CrossNamespaceReferenceDenied", v)
	}
	for _, want := range []string{"--no-cross-namespace-refs", "in namespace shop a ReferenceGrant",
		"from: [{group: maintenance.mamrezb.com, kind: ServiceChecker, namespace: team-a}]",
		`to: [{group: "", kind: Service, name: checkout}]`} {
		if !strings.Contains(v.Message, want) {
			t.Errorf("message %q lacks %q", v.Message, want)
		}
	}
	if strings.Contains(v.Message, "not installed") {
		t.Errorf("message %q speaks of a missing CRD that is installed", v.Message)
	}

	missing := Denied(Policy{DenyCrossNamespace: true}, "team-a", checkout)
	if !strings.Contains(missing.Message, "ReferenceGrant CRD is not installed") ||
		!strings.Contains(missing.Message, "restart the manager") {
		t.Errorf("message %q does not say how to install the missing CRD", missing.Message)
	}
}

func TestTargetNamespaces(t *testing.T) {
	sc := &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c"},
		Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
			{Name: "web"}, {Name: "api", Namespace: "team-a"}, {Name: "checkout", Namespace: "shop"},
			{Name: "db", Namespace: "data"}, {Name: "payments", Namespace: "shop"},
		}},
	}
	if got, want := TargetNamespaces(sc), []string{"shop", "data"}; !slices.Equal(got, want) {
		t.Errorf("TargetNamespaces() = %v, want %v", got, want)
	}
	sc.Spec.Services = sc.Spec.Services[:2]
	if got := TargetNamespaces(sc); len(got) != 0 {
		t.Errorf("TargetNamespaces() of a ServiceChecker listing only its own namespace = %v, want none", got)
	}
}

func TestFromNamespaces(t *testing.T) {
	g := grant("shop", checkersOf("team-a"), services(""))
	g.Spec.From = append(g.Spec.From, checkersOf("team-b"), checkersOf("team-a"),
		gatewayv1beta1.ReferenceGrantFrom{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute", Namespace: "web"})
	if got, want := FromNamespaces(&g), []string{"team-a", "team-b"}; !slices.Equal(got, want) {
		t.Errorf("FromNamespaces() = %v, want %v", got, want)
	}
	secrets := grant("shop", checkersOf("team-a"), gatewayv1beta1.ReferenceGrantTo{Kind: "Secret"})
	if got := FromNamespaces(&secrets); got != nil {
		t.Errorf("FromNamespaces() of a grant to Secrets = %v, want none", got)
	}
}
