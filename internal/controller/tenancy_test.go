package controller

import (
	"context"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// readRecorder is the client of the reconciler run with --no-cross-namespace-refs: it records which Services it
// gets and for which Services it lists EndpointSlices, to prove a denied Service is never read.
type readRecorder struct {
	client.Client
	mu    sync.Mutex
	gets  []types.NamespacedName // Services
	lists []client.ListOptions   // of EndpointSlices
}

func (r *readRecorder) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Service); ok {
		r.mu.Lock()
		r.gets = append(r.gets, key)
		r.mu.Unlock()
	}
	return r.Client.Get(ctx, key, obj, opts...)
}

func (r *readRecorder) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*discoveryv1.EndpointSliceList); ok {
		lo := client.ListOptions{}
		lo.ApplyOptions(opts)
		r.mu.Lock()
		r.lists = append(r.lists, lo)
		r.mu.Unlock()
	}
	return r.Client.List(ctx, list, opts...)
}

// read reports whether the Service, or the EndpointSlices of it, were ever read.
func (r *readRecorder) read(service types.NamespacedName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.gets, service) {
		return true
	}
	for _, lo := range r.lists {
		if (lo.Namespace == "" || lo.Namespace == service.Namespace) &&
			(lo.LabelSelector == nil || lo.LabelSelector.Matches(labels.Set{discoveryv1.LabelServiceName: service.Name})) {
			return true
		}
	}
	return false
}

// createDenyingChecker creates ServiceChecker ns/storefront, which only the manager run with
// --no-cross-namespace-refs reconciles.
func createDenyingChecker(ns string, refs ...v1alpha1.ServiceRef) {
	Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "storefront", Labels: map[string]string{denyLabel: "true"}},
		Spec:       v1alpha1.ServiceCheckerSpec{Services: refs},
	})).To(Succeed())
}

// referenceGrant lets the ServiceCheckers of namespace from read the Services of ns (or only the one named).
func referenceGrant(ns, name, from, service string) *gatewayv1beta1.ReferenceGrant {
	to := gatewayv1beta1.ReferenceGrantTo{Group: "", Kind: "Service"}
	if service != "" {
		to.Name = ptr.To(gatewayv1beta1.ObjectName(service))
	}
	return &gatewayv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1beta1.ReferenceGrantSpec{
			From: []gatewayv1beta1.ReferenceGrantFrom{{Group: "maintenance.mamrezb.com", Kind: "ServiceChecker",
				Namespace: gatewayv1beta1.Namespace(from)}},
			To: []gatewayv1beta1.ReferenceGrantTo{to},
		},
	}
}

// excerpt prints a status entry as `kubectl get svcchk -o yaml` shows it, for the report.
func excerpt(title string, e *v1alpha1.ServiceStatus) {
	raw, err := yaml.Marshal(map[string]any{"serviceStatuses": []v1alpha1.ServiceStatus{*e}})
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry(title, string(raw))
	GinkgoWriter.Printf("%s:\n%s\n", title, raw)
}

var _ = Describe("Cross-namespace references with --no-cross-namespace-refs", func() {
	// A grant must take effect through the watch, at once: a few seconds is ample, and far below any resync.
	const prompt, interval = 5 * time.Second, 50 * time.Millisecond

	denied := func(g Gomega, e *v1alpha1.ServiceStatus, checkerNS string) {
		g.Expect(e.Ready).To(BeFalse())
		g.Expect(e.Reason).To(Equal(v1alpha1.ReasonCrossNamespaceReferenceDenied))
		g.Expect(e.ReadyEndpoints).To(BeZero())
		g.Expect(e.Message).To(ContainSubstring("--no-cross-namespace-refs"))
		g.Expect(e.Message).To(ContainSubstring("in namespace " + e.Namespace + " a ReferenceGrant"))
		g.Expect(e.Message).To(ContainSubstring("namespace: " + checkerNS + "}"))
	}

	It("denies a Service of another namespace without reading it, allows it once a ReferenceGrant exists, "+
		"and denies it again when the grant is deleted", func() {
		team, shop := createNamespace(), createNamespace()
		checkout := types.NamespacedName{Namespace: shop, Name: "checkout"}
		createService(team, "web")
		createSlice(team, "web", "web-1", true)
		createService(shop, "checkout")
		createSlice(shop, "checkout", "checkout-1", true, true)
		createDenyingChecker(team,
			v1alpha1.ServiceRef{Name: "web"},
			v1alpha1.ServiceRef{Name: "checkout", Namespace: shop, Critical: true})

		var deniedEntry *v1alpha1.ServiceStatus
		Eventually(func(g Gomega) {
			sc := statusOf(team, "storefront")(g)
			g.Expect(sc.Status.ObservedGeneration).To(Equal(sc.Generation))
			g.Expect(entry(g, sc, team, "web").Ready).To(BeTrue(), "a Service of its own namespace needs no grant")
			deniedEntry = entry(g, sc, shop, "checkout")
			denied(g, deniedEntry, team)
			g.Expect(sc.Status.Maintenance).To(BeTrue())
			g.Expect(sc.Status.ReadyServices).To(Equal(int32(1)))
		}, prompt, interval).Should(Succeed())
		excerpt("denied cross-namespace reference (kubectl get svcchk storefront -o yaml)", deniedEntry)
		Expect(denyingReads.read(checkout)).To(BeFalse(), "the denied Service or its EndpointSlices were read")
		Expect(denyingReads.read(types.NamespacedName{Namespace: team, Name: "web"})).To(BeTrue(),
			"the recorder sees the reads of allowed Services")

		By("creating a ReferenceGrant in the Service's namespace for the ServiceChecker's namespace")
		grant := referenceGrant(shop, "storefront-may-read", team, "")
		granted := time.Now()
		Expect(k8sClient.Create(ctx(), grant)).To(Succeed())
		var grantedEntry *v1alpha1.ServiceStatus
		Eventually(func(g Gomega) {
			sc := statusOf(team, "storefront")(g)
			grantedEntry = entry(g, sc, shop, "checkout")
			g.Expect(grantedEntry.Ready).To(BeTrue())
			g.Expect(grantedEntry.Reason).To(Equal(v1alpha1.ReasonReady))
			g.Expect(grantedEntry.ReadyEndpoints).To(Equal(int32(2)))
			g.Expect(sc.Status.Maintenance).To(BeFalse())
		}, prompt, interval).Should(Succeed())
		GinkgoWriter.Printf("ReferenceGrant created -> status ready after %v\n", time.Since(granted).Round(time.Millisecond))
		excerpt("granted cross-namespace reference (kubectl get svcchk storefront -o yaml)", grantedEntry)

		By("deleting the grant")
		revoked := time.Now()
		Expect(k8sClient.Delete(ctx(), grant)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(team, "storefront")(g)
			denied(g, entry(g, sc, shop, "checkout"), team)
			g.Expect(sc.Status.Maintenance).To(BeTrue())
		}, prompt, interval).Should(Succeed())
		GinkgoWriter.Printf("ReferenceGrant deleted -> status denied after %v\n", time.Since(revoked).Round(time.Millisecond))
	})

	It("follows a grant's to.name: a grant naming another Service does not allow, an edit to this one does", func() {
		team, shop := createNamespace(), createNamespace()
		for _, name := range []string{"checkout", "payments"} {
			createService(shop, name)
			createSlice(shop, name, name+"-1", true)
		}
		createDenyingChecker(team,
			v1alpha1.ServiceRef{Name: "checkout", Namespace: shop},
			v1alpha1.ServiceRef{Name: "payments", Namespace: shop})
		Eventually(func(g Gomega) {
			sc := statusOf(team, "storefront")(g)
			denied(g, entry(g, sc, shop, "checkout"), team)
			denied(g, entry(g, sc, shop, "payments"), team)
		}, prompt, interval).Should(Succeed())

		grant := referenceGrant(shop, "payments-only", team, "payments")
		Expect(k8sClient.Create(ctx(), grant)).To(Succeed())
		// payments turning ready proves the grant was seen; checkout, not named, stays denied.
		Eventually(func(g Gomega) {
			sc := statusOf(team, "storefront")(g)
			g.Expect(entry(g, sc, shop, "payments").Ready).To(BeTrue())
			denied(g, entry(g, sc, shop, "checkout"), team)
		}, prompt, interval).Should(Succeed())

		By("editing the grant to name checkout instead")
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(grant), grant)).To(Succeed())
		grant.Spec.To[0].Name = ptr.To(gatewayv1beta1.ObjectName("checkout"))
		Expect(k8sClient.Update(ctx(), grant)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(team, "storefront")(g)
			g.Expect(entry(g, sc, shop, "checkout").Ready).To(BeTrue())
			denied(g, entry(g, sc, shop, "payments"), team)
		}, prompt, interval).Should(Succeed())
	})

	It("ignores a grant for another namespace's ServiceCheckers", func() {
		team, other, shop := createNamespace(), createNamespace(), createNamespace()
		createService(shop, "checkout")
		createSlice(shop, "checkout", "checkout-1", true)
		createDenyingChecker(team, v1alpha1.ServiceRef{Name: "checkout", Namespace: shop})
		createDenyingChecker(other, v1alpha1.ServiceRef{Name: "checkout", Namespace: shop})
		Expect(k8sClient.Create(ctx(), referenceGrant(shop, "other-only", other, ""))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(entry(g, statusOf(other, "storefront")(g), shop, "checkout").Ready).To(BeTrue())
			denied(g, entry(g, statusOf(team, "storefront")(g), shop, "checkout"), team)
		}, prompt, interval).Should(Succeed())
	})

	It("changes nothing without the flag: the default manager reads another namespace's Service without a grant", func() {
		team, shop := createNamespace(), createNamespace()
		createService(shop, "checkout")
		createSlice(shop, "checkout", "checkout-1", true)
		createChecker(team, "storefront", v1alpha1.ServiceRef{Name: "checkout", Namespace: shop, Critical: true})
		Eventually(func(g Gomega) {
			e := entry(g, statusOf(team, "storefront")(g), shop, "checkout")
			g.Expect(e.Ready).To(BeTrue())
			g.Expect(e.Reason).To(Equal(v1alpha1.ReasonReady))
		}, prompt, interval).Should(Succeed())
	})
})
