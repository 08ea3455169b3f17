package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// graceFlow registers the grace-period specs of issue #17 on the ServiceChecker shop/storefront that flow creates
// (checkout critical with minReady 2 and two ready Pods, pods); mgr is flow's manager, on the real clock. A rolling
// restart shorter than the grace period never shows maintenance; an outage longer than it enters maintenance at
// graceUntil. The grace period is removed at the end.
func graceFlow(shop string, mgr func() *manager, pods func() []string) {
	checker := shop + "/storefront"
	const grace = 5 * time.Second

	setGrace := func(d *metav1.Duration) {
		GinkgoHelper()
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			sc := &v1alpha1.ServiceChecker{}
			if err := k8sClient.Get(ctx(), client.ObjectKey{Namespace: shop, Name: "storefront"}, sc); err != nil {
				return err
			}
			sc.Spec.GracePeriod = d
			return k8sClient.Update(ctx(), sc)
		})).To(Succeed())
	}
	summaryOf := func(out string) (snapshot.Summary, bool) {
		var s snapshot.Summary
		return s, json.Unmarshal([]byte(out), &s) == nil
	}
	pendingIn := func(out string) bool {
		s, ok := summaryOf(out)
		return ok && len(s.Pending) > 0
	}

	It("never enters maintenance during a rolling restart shorter than the grace period", func() {
		m := mgr()
		setGrace(&metav1.Duration{Duration: grace})
		DeferCleanup(func() { setGrace(nil) })
		Eventually(func(g Gomega) { g.Expect(m.checkout(g, shop).Ready).To(BeTrue()) }).
			WithTimeout(10 * time.Second).Should(Succeed())
		var statuses *sampler
		timed(shop+": rolling restart of checkout's Pods with gracePeriod 5s (minReady 2; /status every 20 ms)", func() {
			statuses = startSampler(20*time.Millisecond, func() (string, error) {
				return m.fetch("/status?checker=" + checker)
			})
			defer statuses.stop()
			// Like a Deployment's restart with maxUnavailable 1: one Pod at a time is not ready for a second.
			for _, p := range pods() {
				Expect(kubelet.SetReady(ctx(), shop, p, false)).To(Succeed())
				Eventually(func(g Gomega) { g.Expect(m.checkout(g, shop).Ready).To(BeFalse()) }).
					WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
				time.Sleep(time.Second)
				Expect(kubelet.SetReady(ctx(), shop, p, true)).To(Succeed())
				Eventually(func(g Gomega) { g.Expect(m.checkout(g, shop).Ready).To(BeTrue()) }).
					WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
			}
			time.Sleep(200 * time.Millisecond)
		})
		s := statuses.samples()
		var failed, pendingSeen int
		for _, x := range s {
			if x.err != nil {
				failed++
				continue
			}
			Expect(inMaintenance(true)(x.out)).To(BeFalse(), "maintenance during the rolling restart: %s", x.out)
			if pendingIn(x.out) {
				pendingSeen++
			}
		}
		Expect(failed).To(BeNumerically("<", len(s)/10+1), "most samples of /status failed")
		Expect(pendingSeen).To(BeNumerically(">", 0), "checkout was never pending: the restart was not seen")
		AddReportEntry(shop+": rolling restart with gracePeriod 5s", fmt.Sprintf(
			"%d samples of /status (every %s), %d with checkout pending, none in maintenance", len(s), meanGap(s),
			pendingSeen))
	})

	It("enters maintenance at graceUntil when an outage lasts longer than the grace period; recovery is immediate",
		func() {
			m := mgr()
			setGrace(&metav1.Duration{Duration: grace})
			DeferCleanup(func() { setGrace(nil) })
			Eventually(func(g Gomega) { g.Expect(m.checkout(g, shop).Ready).To(BeTrue()) }).
				WithTimeout(10 * time.Second).Should(Succeed())
			var statuses *sampler
			var down, recovered time.Time
			timed(shop+": outage longer than gracePeriod 5s (/status every 20 ms)", func() {
				statuses = startSampler(20*time.Millisecond, func() (string, error) {
					return m.fetch("/status?checker=" + checker)
				})
				defer statuses.stop()
				down = time.Now()
				for _, p := range pods() {
					Expect(kubelet.SetReady(ctx(), shop, p, false)).To(Succeed())
				}
				Eventually(func() bool { return first(statuses.samples(), 0, inMaintenance(true)) >= 0 }).
					WithTimeout(grace + 10*time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
				recovered = time.Now()
				for _, p := range pods() {
					Expect(kubelet.SetReady(ctx(), shop, p, true)).To(Succeed())
				}
				Eventually(func() bool {
					s := statuses.samples()
					return first(s, first(s, 0, inMaintenance(true)), inMaintenance(false)) >= 0
				}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(BeTrue())
			})
			s := statuses.samples()
			pending := first(s, 0, pendingIn)
			Expect(pending).To(BeNumerically(">=", 0), "checkout was never pending")
			summary, _ := summaryOf(s[pending].out)
			Expect(summary.Pending[0].Service).To(Equal(shop + "/checkout"))
			Expect(summary.CriticalNotReady).To(BeEmpty())
			until := summary.Pending[0].Until
			Expect(until.Sub(down)).To(BeNumerically(">=", grace), "graceUntil %v is less than 5 s after %v", until, down)
			Expect(until.Sub(down)).To(BeNumerically("<", grace+3*time.Second), "graceUntil %v too late", until)

			entered := first(s, pending, inMaintenance(true))
			Expect(entered).To(BeNumerically(">", pending))
			for _, x := range s[:entered] {
				Expect(inMaintenance(true)(x.out)).To(BeFalse())
			}
			inMaint, _ := summaryOf(s[entered].out)
			Expect(inMaint.CriticalNotReady).To(ConsistOf(shop + "/checkout"))
			Expect(inMaint.Pending).To(BeEmpty())
			// On time: not before graceUntil, and within a second of it.
			delay := s[entered].received.Sub(until)
			Expect(s[entered].received.After(until)).To(BeTrue(), "maintenance before graceUntil %v", until)
			Expect(delay).To(BeNumerically("<", time.Second), "maintenance %v after graceUntil", delay)

			left := first(s, entered, inMaintenance(false))
			Expect(left).To(BeNumerically(">", entered))
			recovery := s[left].received.Sub(recovered)
			Expect(recovery).To(BeNumerically("<", 2*time.Second), "recovery took %v", recovery)
			lines := []string{
				fmt.Sprintf("Pods not ready at %s", down.UTC().Format("15:04:05.000")),
				fmt.Sprintf("pending (graceUntil %s) first seen at %s", until.UTC().Format(time.RFC3339),
					s[pending].received.UTC().Format("15:04:05.000")),
				fmt.Sprintf("maintenance first seen at %s: %v after graceUntil, %v after the Pods went down",
					s[entered].received.UTC().Format("15:04:05.000"), delay.Round(time.Millisecond),
					s[entered].received.Sub(down).Round(time.Millisecond)),
				fmt.Sprintf("Pods ready at %s; out of maintenance %v later", recovered.UTC().Format("15:04:05.000"),
					recovery.Round(time.Millisecond)),
				fmt.Sprintf("%d samples of /status, mean gap %s", len(s), meanGap(s)),
			}
			AddReportEntry(shop+": outage longer than gracePeriod 5s", strings.Join(lines, "\n"))
			GinkgoWriter.Println(strings.Join(lines, "\n"))
		})
}
