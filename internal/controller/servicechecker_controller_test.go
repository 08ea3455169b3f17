package controller

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// seedManifest is the example from the original README; it must be accepted unchanged.
const seedManifest = `
apiVersion: maintenance.mamrezb.com/v1alpha1
kind: ServiceChecker
metadata:
  name: example-checker
spec:
  services:
    - name: my-service
      namespace: default
      critical: true
`

func createNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sc-test-"}}
	Expect(k8sClient.Create(ctx(), ns)).To(Succeed())
	return ns.Name
}

func createService(ns, name string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
		},
	}
	Expect(k8sClient.Create(ctx(), svc)).To(Succeed())
	return svc
}

// createSlice writes an EndpointSlice for a Service by hand, as the EndpointSlice controller would, with one
// Pod endpoint per value of ready.
func createSlice(ns, service, name string, ready ...bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: service},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
	}
	for i, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.0.0.%d", i+1)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(r)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: fmt.Sprintf("%s-%d", service, i)},
		})
	}
	Expect(k8sClient.Create(ctx(), s)).To(Succeed())
	return s
}

func createChecker(ns, name string, refs ...v1alpha1.ServiceRef) *v1alpha1.ServiceChecker {
	sc := &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.ServiceCheckerSpec{Services: refs},
	}
	Expect(k8sClient.Create(ctx(), sc)).To(Succeed())
	return sc
}

// statusOf returns a function for Eventually that fetches the ServiceChecker's current state.
func statusOf(ns, name string) func(g Gomega) *v1alpha1.ServiceChecker {
	return func(g Gomega) *v1alpha1.ServiceChecker {
		var sc v1alpha1.ServiceChecker
		g.Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: name}, &sc)).To(Succeed())
		return &sc
	}
}

// entry returns the status entry of Service ns/name, failing the Eventually attempt g when there is none yet.
func entry(g Gomega, sc *v1alpha1.ServiceChecker, ns, name string) *v1alpha1.ServiceStatus {
	for i := range sc.Status.ServiceStatuses {
		if s := &sc.Status.ServiceStatuses[i]; s.Namespace == ns && s.Name == name {
			return s
		}
	}
	g.Expect(sc.Status.ServiceStatuses).To(ContainElement(HaveField("Name", name)), "no status entry for %s/%s", ns, name)
	return &v1alpha1.ServiceStatus{}
}

func conditionStatus(sc *v1alpha1.ServiceChecker, typ string) metav1.ConditionStatus {
	if c := meta.FindStatusCondition(sc.Status.Conditions, typ); c != nil && c.ObservedGeneration == sc.Generation {
		return c.Status
	}
	return metav1.ConditionUnknown
}

var _ = Describe("ServiceChecker controller", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond

	It("reports a Service ready from its EndpointSlices and follows a readiness flip", func() {
		ns := createNamespace()
		createService(ns, "api")
		slice := createSlice(ns, "api", "api-1", true, true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api", Critical: true})

		Eventually(func(g Gomega) {
			sc := statusOf(ns, "shop")(g)
			g.Expect(sc.Status.ObservedGeneration).To(Equal(sc.Generation))
			e := entry(g, sc, ns, "api")
			g.Expect(e).NotTo(BeNil())
			g.Expect(e.Ready).To(BeTrue())
			g.Expect(e.Critical).To(BeTrue())
			g.Expect(e.ReadyEndpoints).To(Equal(int32(2)))
			g.Expect(e.Reason).To(Equal(v1alpha1.ReasonReady))
			g.Expect(sc.Status.ReadyServices).To(Equal(int32(1)))
			g.Expect(sc.Status.TotalServices).To(Equal(int32(1)))
			g.Expect(sc.Status.Maintenance).To(BeFalse())
			g.Expect(conditionStatus(sc, v1alpha1.ConditionReady)).To(Equal(metav1.ConditionTrue))
			g.Expect(conditionStatus(sc, v1alpha1.ConditionMaintenance)).To(Equal(metav1.ConditionFalse))
		}, timeout, interval).Should(Succeed())
		// The metric follows the status write: the status may be seen first.
		Eventually(func() float64 {
			return metricValue("mwm_service_ready", ns, "api", ns, "shop", "true")
		}, timeout, interval).Should(Equal(1.0))

		By("writing false and zero values explicitly, for kubectl columns and `kubectl wait`")
		raw := &unstructured.Unstructured{}
		raw.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ServiceChecker"))
		Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: "shop"}, raw)).To(Succeed())
		maintenance, found, err := unstructured.NestedBool(raw.Object, "status", "maintenance")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue(), "status.maintenance missing: %v", raw.Object["status"])
		Expect(maintenance).To(BeFalse())

		By("marking every endpoint not ready at a later time")
		flipTime := time.Date(2026, 1, 1, 13, 0, 0, 0, time.UTC)
		testClock.SetTime(flipTime)
		for i := range slice.Endpoints {
			slice.Endpoints[i].Conditions.Ready = ptr.To(false)
		}
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())

		Eventually(func(g Gomega) {
			sc := statusOf(ns, "shop")(g)
			e := entry(g, sc, ns, "api")
			g.Expect(e.Ready).To(BeFalse())
			g.Expect(e.Reason).To(Equal(v1alpha1.ReasonNoReadyEndpoints))
			g.Expect(e.LastTransitionTime.Time.Equal(flipTime)).To(BeTrue(), "lastTransitionTime %v", e.LastTransitionTime)
			g.Expect(sc.Status.Maintenance).To(BeTrue())
			g.Expect(conditionStatus(sc, v1alpha1.ConditionMaintenance)).To(Equal(metav1.ConditionTrue))
			g.Expect(conditionStatus(sc, v1alpha1.ConditionReady)).To(Equal(metav1.ConditionFalse))
		}, timeout, interval).Should(Succeed())

		By("recording a Warning Event on the ServiceChecker")
		Eventually(func(g Gomega) []string {
			var list eventsv1.EventList
			g.Expect(k8sClient.List(ctx(), &list, client.InNamespace(ns))).To(Succeed())
			var seen []string
			for _, e := range list.Items {
				if e.Regarding.Name == "shop" {
					seen = append(seen, e.Type+"/"+e.Reason)
				}
			}
			return seen
		}, timeout, interval).Should(ContainElement("Warning/" + EventServiceNotReady))
	})

	It("makes no API write when an EndpointSlice update does not change readiness", func() {
		ns := createNamespace()
		createService(ns, "api")
		slice := createSlice(ns, "api", "api-1", true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api"})
		var before string
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "shop")(g)
			g.Expect(entry(g, sc, ns, "api")).NotTo(BeNil())
			g.Expect(entry(g, sc, ns, "api").Ready).To(BeTrue())
			before = sc.ResourceVersion
		}, timeout, interval).Should(Succeed())

		testClock.SetTime(testClock.Now().Add(time.Hour))
		slice.Labels["team"] = "payments"
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To("metrics"), Port: ptr.To[int32](9090)})
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())

		Consistently(func(g Gomega) string {
			return statusOf(ns, "shop")(g).ResourceVersion
		}, 2*time.Second, 100*time.Millisecond).Should(Equal(before))

		By("checking the controller did see the slice: a readiness change on it lands")
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(slice), slice)).To(Succeed())
		Expect(slice.Ports).To(HaveLen(2))
		slice.Endpoints[0].Conditions.Ready = ptr.To(false)
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(func(g Gomega) bool {
			return entry(g, statusOf(ns, "shop")(g), ns, "api").Ready
		}, timeout, interval).Should(BeFalse())
	})

	It("reports ServiceNotFound when the Service is deleted", func() {
		ns := createNamespace()
		svc := createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api"})
		Eventually(func(g Gomega) {
			g.Expect(entry(g, statusOf(ns, "shop")(g), ns, "api").Ready).To(BeTrue())
		}, timeout, interval).Should(Succeed())

		Expect(k8sClient.Delete(ctx(), svc)).To(Succeed())
		Eventually(func(g Gomega) {
			e := entry(g, statusOf(ns, "shop")(g), ns, "api")
			g.Expect(e.Ready).To(BeFalse())
			g.Expect(e.Reason).To(Equal(v1alpha1.ReasonServiceNotFound))
		}, timeout, interval).Should(Succeed())
	})

	It("accepts the seed manifest as is and reports its Service once it exists", func() {
		sc := &unstructured.Unstructured{}
		Expect(yaml.NewYAMLOrJSONDecoder(strings.NewReader(seedManifest), 4096).Decode(&sc.Object)).To(Succeed())
		sc.SetNamespace("default") // what kubectl apply does for a manifest without a namespace
		Expect(k8sClient.Create(ctx(), sc)).To(Succeed())

		Eventually(func(g Gomega) {
			got := statusOf("default", "example-checker")(g)
			e := entry(g, got, "default", "my-service")
			g.Expect(e).NotTo(BeNil())
			g.Expect(e.Reason).To(Equal(v1alpha1.ReasonServiceNotFound))
			g.Expect(got.Status.Maintenance).To(BeTrue())
		}, timeout, interval).Should(Succeed())

		createService("default", "my-service")
		createSlice("default", "my-service", "my-service-abc", true)
		Eventually(func(g Gomega) {
			got := statusOf("default", "example-checker")(g)
			g.Expect(entry(g, got, "default", "my-service").Ready).To(BeTrue())
			g.Expect(got.Status.Maintenance).To(BeFalse())
			g.Expect(conditionStatus(got, v1alpha1.ConditionMaintenance)).To(Equal(metav1.ConditionFalse))
		}, timeout, interval).Should(Succeed())
	})

	It("defaults the namespace, merges entries equal after defaulting, and updates every ServiceChecker of a Service", func() {
		ns, other := createNamespace(), createNamespace()
		createService(ns, "api")
		createService(other, "db")
		createSlice(ns, "api", "api-1", true)
		dbSlice := createSlice(other, "db", "db-1", true, true)
		createChecker(ns, "first",
			v1alpha1.ServiceRef{Name: "api"},
			v1alpha1.ServiceRef{Name: "api", Namespace: ns, Critical: true},
			v1alpha1.ServiceRef{Name: "db", Namespace: other, MinReady: 2})
		createChecker(other, "second", v1alpha1.ServiceRef{Name: "db"})

		Eventually(func(g Gomega) {
			first := statusOf(ns, "first")(g)
			g.Expect(first.Status.ServiceStatuses).To(HaveLen(2))
			g.Expect(entry(g, first, ns, "api").Critical).To(BeTrue())
			g.Expect(entry(g, first, other, "db").Ready).To(BeTrue())
			g.Expect(entry(g, statusOf(other, "second")(g), other, "db").Ready).To(BeTrue())
		}, timeout, interval).Should(Succeed())

		dbSlice.Endpoints[0].Conditions.Ready = ptr.To(false)
		Expect(k8sClient.Update(ctx(), dbSlice)).To(Succeed())
		Eventually(func(g Gomega) {
			db := entry(g, statusOf(ns, "first")(g), other, "db")
			g.Expect(db.Ready).To(BeFalse())
			g.Expect(db.Reason).To(Equal(v1alpha1.ReasonNotEnoughReadyEndpoints))
			// The second ServiceChecker's minReady is 1: one ready endpoint is still enough there.
			g.Expect(entry(g, statusOf(other, "second")(g), other, "db").Ready).To(BeTrue())
		}, timeout, interval).Should(Succeed())
	})

	It("reports an ExternalName Service as not ready with a reason", func() {
		ns := createNamespace()
		Expect(k8sClient.Create(ctx(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "legacy.example.com"},
		})).To(Succeed())
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "legacy"})
		Eventually(func(g Gomega) string {
			e := entry(g, statusOf(ns, "shop")(g), ns, "legacy")
			g.Expect(e).NotTo(BeNil())
			return e.Reason
		}, timeout, interval).Should(Equal(v1alpha1.ReasonExternalNameService))
	})

	It("removes a ServiceChecker's metrics when it is deleted", func() {
		ns := createNamespace()
		sc := createChecker(ns, "gone", v1alpha1.ServiceRef{Name: "api"})
		Eventually(func() float64 {
			return metricValue("mwm_service_ready", ns, "api", ns, "gone", "false")
		}, timeout, interval).Should(Equal(0.0), "the series of a not-ready Service exists before the deletion")
		Expect(k8sClient.Delete(ctx(), sc)).To(Succeed())
		Eventually(func() float64 {
			return metricValue("mwm_service_ready", ns, "api", ns, "gone", "false")
		}, timeout, interval).Should(Equal(-1.0))
		Expect(testutil.CollectAndCount(registry, "mwm_servicechecker_maintenance")).To(BeNumerically(">=", 0))
		families, err := registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					Expect(l.GetValue() == "gone" && (l.GetName() == "checker" || l.GetName() == "name")).To(BeFalse(),
						"series %s of the deleted ServiceChecker remains", f.GetName())
				}
			}
		}
	})

	// Entries are raw maps so that values the typed client would omit (minReady: 0) reach the API server.
	DescribeTable("rejects invalid ServiceCheckers at admission, naming the field",
		func(services []any, field string) {
			sc := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": v1alpha1.GroupVersion.String(),
				"kind":       "ServiceChecker",
				"metadata":   map[string]any{"namespace": "default", "generateName": "invalid-"},
				"spec":       map[string]any{"services": services},
			}}
			err := k8sClient.Create(ctx(), sc)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
		},
		Entry("upper-case name", []any{svcRef("My-Service")}, "spec.services[0].name"),
		Entry("name with a dot", []any{svcRef("my.service")}, "spec.services[0].name"),
		Entry("empty name", []any{svcRef("")}, "spec.services[0].name"),
		Entry("missing name", []any{map[string]any{"namespace": "shop"}}, "spec.services[0].name"),
		Entry("name too long", []any{svcRef(strings.Repeat("a", 64))}, "spec.services[0].name"),
		Entry("bad namespace", []any{svcRef("api", "namespace", "Shop_1")}, "spec.services[0].namespace"),
		Entry("minReady zero", []any{svcRef("api", "minReady", 0)}, "spec.services[0].minReady"),
		Entry("minReady negative", []any{svcRef("api", "minReady", -2)}, "spec.services[0].minReady"),
		Entry("critical not a bool", []any{svcRef("api", "critical", "yes")}, "spec.services[0].critical"),
		Entry("duplicate Service", []any{svcRef("api", "namespace", "shop"), svcRef("api", "namespace", "shop")},
			"spec.services: Invalid value: each Service (name, namespace) may be listed only once"),
		Entry("duplicate Service without namespace", []any{svcRef("api"), svcRef("api")},
			"spec.services: Invalid value: each Service (name, namespace) may be listed only once"),
		Entry("too many entries", manyRawRefs(257), "spec.services: Too many: 257: must have at most 256 items"),
		Entry("missing services", nil, "spec.services: Required value"),
	)

	It("accepts 256 entries", func() {
		createChecker("default", "largest", manyRefs(256)...)
	})
})

func svcRef(name string, kv ...any) map[string]any {
	ref := map[string]any{"name": name}
	for i := 0; i+1 < len(kv); i += 2 {
		ref[kv[i].(string)] = kv[i+1]
	}
	return ref
}

func manyRawRefs(n int) []any {
	refs := make([]any, n)
	for i := range refs {
		refs[i] = svcRef(fmt.Sprintf("svc-%d", i), "namespace", "shop")
	}
	return refs
}

func manyRefs(n int) []v1alpha1.ServiceRef {
	refs := make([]v1alpha1.ServiceRef, n)
	for i := range refs {
		refs[i] = v1alpha1.ServiceRef{Name: fmt.Sprintf("svc-%d", i), Namespace: "shop"}
	}
	return refs
}
