package controller

import (
	"encoding/json"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// statusAnswer is GET /status?checker=... of the leader's API, decoded.
type statusAnswer struct {
	Maintenance      bool     `json:"maintenance"`
	CriticalNotReady []string `json:"criticalNotReady"`
	Pending          []struct {
		Service string    `json:"service"`
		Until   time.Time `json:"until"`
	} `json:"pending"`
}

func statusOfAPI(g Gomega, checker string) statusAnswer {
	code, body := apiAnswer(g, leaderAPI.Addr().String(), "/status?checker="+checker)
	g.Expect(code).To(Equal(http.StatusOK), body)
	var s statusAnswer
	g.Expect(json.Unmarshal([]byte(body), &s)).To(Succeed(), body)
	g.Expect(s.Pending).NotTo(BeNil(), "pending is always present: %s", body)
	return s
}

func maintenanceReason(sc *v1alpha1.ServiceChecker) string {
	if c := meta.FindStatusCondition(sc.Status.Conditions, v1alpha1.ConditionMaintenance); c != nil {
		return c.Reason
	}
	return ""
}

// Issue #17, grace period: a critical Service not ready within its grace period stays truthful (ready: false), gains
// graceUntil and is pending, not maintenance; once the fake clock passes graceUntil the next reconcile puts the
// ServiceChecker in maintenance; recovery is immediate.
var _ = Describe("Grace period", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond

	It("keeps a critical Service out of maintenance until graceUntil, then counts it; recovery is immediate", func() {
		was := testClock.Now()
		DeferCleanup(func() { testClock.SetTime(was) })
		base := was.Add(24 * time.Hour).Truncate(time.Second)
		testClock.SetTime(base)

		ns := createNamespace()
		checker := ns + "/storefront"
		createService(ns, "checkout")
		createService(ns, "search")
		slice := createSlice(ns, "checkout", "checkout-1", true)
		createSlice(ns, "search", "search-1", false)
		sc := &v1alpha1.ServiceChecker{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "storefront"},
			Spec: v1alpha1.ServiceCheckerSpec{
				GracePeriod: &metav1.Duration{Duration: 30 * time.Second},
				Services: []v1alpha1.ServiceRef{
					{Name: "checkout", Critical: true},
					// Its own grace period of 0s overrides the ServiceChecker's: not ready but not critical, so it
					// never counts; it only shows that the override is accepted.
					{Name: "search", GracePeriod: &metav1.Duration{}},
				},
			},
		}
		Expect(k8sClient.Create(ctx(), sc)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			g.Expect(entry(g, sc, ns, "checkout").Ready).To(BeTrue())
			g.Expect(sc.Status.Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())

		By("making checkout not ready at a fraction of a second: graceUntil is 30 s later, rounded up")
		seen := base.Add(time.Minute + 400*time.Millisecond)
		wantUntil := base.Add(time.Minute + 31*time.Second)
		testClock.SetTime(seen)
		slice.Endpoints[0].Conditions.Ready = ptr.To(false)
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			e := entry(g, sc, ns, "checkout")
			g.Expect(e.Ready).To(BeFalse(), "readiness stays truthful")
			g.Expect(e.GraceUntil).NotTo(BeNil())
			g.Expect(e.GraceUntil.Time.Equal(wantUntil)).To(BeTrue(), "graceUntil %v, want %v", e.GraceUntil, wantUntil)
			g.Expect(sc.Status.Maintenance).To(BeFalse())
			g.Expect(conditionStatus(sc, v1alpha1.ConditionMaintenance)).To(Equal(metav1.ConditionFalse))
			g.Expect(maintenanceReason(sc)).To(Equal(v1alpha1.ReasonWithinGracePeriod))
			s := statusOfAPI(g, checker)
			g.Expect(s.Maintenance).To(BeFalse())
			g.Expect(s.CriticalNotReady).To(BeEmpty())
			g.Expect(s.Pending).To(HaveLen(1))
			g.Expect(s.Pending[0].Service).To(Equal(ns + "/checkout"))
			g.Expect(s.Pending[0].Until.Equal(wantUntil)).To(BeTrue(), "until %v", s.Pending[0].Until)
		}, timeout, interval).Should(Succeed())

		By("a second before graceUntil, still pending")
		testClock.SetTime(wantUntil.Add(-time.Second))
		touch(&v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "storefront"}})
		Consistently(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			g.Expect(sc.Status.Maintenance).To(BeFalse())
			g.Expect(entry(g, sc, ns, "checkout").GraceUntil).NotTo(BeNil())
		}, time.Second, interval).Should(Succeed())

		By("stepping the clock to graceUntil: the next reconcile counts checkout")
		testClock.SetTime(wantUntil)
		touch(&v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "storefront"}})
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			e := entry(g, sc, ns, "checkout")
			g.Expect(e.GraceUntil).To(BeNil())
			g.Expect(e.LastTransitionTime.Time.Equal(seen.Truncate(time.Second))).To(BeTrue(),
				"the not-ready spell still starts when first seen: %v", e.LastTransitionTime)
			g.Expect(sc.Status.Maintenance).To(BeTrue())
			g.Expect(maintenanceReason(sc)).To(Equal(v1alpha1.ReasonCriticalServiceNotReady))
			s := statusOfAPI(g, checker)
			g.Expect(s.Maintenance).To(BeTrue())
			g.Expect(s.CriticalNotReady).To(ConsistOf(ns + "/checkout"))
			g.Expect(s.Pending).To(BeEmpty())
		}, timeout, interval).Should(Succeed())

		By("recovering: out of maintenance at once")
		testClock.SetTime(wantUntil.Add(time.Second))
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(slice), slice)).To(Succeed())
		slice.Endpoints[0].Conditions.Ready = ptr.To(true)
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			e := entry(g, sc, ns, "checkout")
			g.Expect(e.Ready).To(BeTrue())
			g.Expect(e.GraceUntil).To(BeNil())
			g.Expect(sc.Status.Maintenance).To(BeFalse())
			g.Expect(statusOfAPI(g, checker).Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())

		By("a blip shorter than the grace period never shows maintenance")
		blip := wantUntil.Add(time.Minute)
		testClock.SetTime(blip)
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(slice), slice)).To(Succeed())
		slice.Endpoints[0].Conditions.Ready = ptr.To(false)
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			g.Expect(entry(g, sc, ns, "checkout").GraceUntil).NotTo(BeNil())
			g.Expect(sc.Status.Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())
		testClock.SetTime(blip.Add(10 * time.Second))
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(slice), slice)).To(Succeed())
		slice.Endpoints[0].Conditions.Ready = ptr.To(true)
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(func(g Gomega) {
			sc := statusOf(ns, "storefront")(g)
			g.Expect(entry(g, sc, ns, "checkout").Ready).To(BeTrue())
			g.Expect(sc.Status.Maintenance).To(BeFalse())
			g.Expect(maintenanceReason(sc)).To(Equal(v1alpha1.ReasonCriticalServicesReady))
		}, timeout, interval).Should(Succeed())
	})

	It("rejects a grace period over 1h or below 0s", func() {
		ns := createNamespace()
		for _, bad := range []time.Duration{2 * time.Hour, -time.Second} {
			sc := &v1alpha1.ServiceChecker{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"},
				Spec:       v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "a"}}},
			}
			sc.Spec.GracePeriod = &metav1.Duration{Duration: bad}
			err := k8sClient.Create(ctx(), sc)
			Expect(err).To(HaveOccurred(), "gracePeriod %s accepted", bad)
			Expect(err.Error()).To(ContainSubstring("spec.gracePeriod"))
			sc.Spec.GracePeriod = nil
			sc.Spec.Services[0].GracePeriod = &metav1.Duration{Duration: bad}
			err = k8sClient.Create(ctx(), sc)
			Expect(err).To(HaveOccurred(), "services[].gracePeriod %s accepted", bad)
			Expect(err.Error()).To(ContainSubstring("spec.services[0].gracePeriod"))
		}
		By("defaulting spec.gracePeriod to 0s")
		sc := createChecker(ns, "ok", v1alpha1.ServiceRef{Name: "a"})
		Expect(sc.Spec.GracePeriod).NotTo(BeNil())
		Expect(sc.Spec.GracePeriod.Duration).To(BeZero())
	})
})
