package controller

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// statusWrites counts the writes of a ServiceChecker from a watch on the API server (each one a new resourceVersion)
// and remembers the last object seen.
type statusWrites struct {
	count chan int
	last  chan *v1alpha1.ServiceChecker
}

func watchWrites(ns, name string) (*statusWrites, func()) {
	ctx, cancel := context.WithCancel(ctx())
	watcher, err := client.NewWithWatch(testEnv.Config, client.Options{Scheme: k8sClient.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := watcher.Watch(ctx, &v1alpha1.ServiceCheckerList{}, client.InNamespace(ns),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)})
	Expect(err).NotTo(HaveOccurred())
	writes := &statusWrites{count: make(chan int, 1), last: make(chan *v1alpha1.ServiceChecker, 1)}
	writes.count <- 0
	writes.last <- nil
	go func() {
		defer GinkgoRecover()
		for e := range w.ResultChan() {
			sc, ok := e.Object.(*v1alpha1.ServiceChecker)
			if !ok {
				continue
			}
			writes.count <- <-writes.count + 1
			<-writes.last
			writes.last <- sc
		}
	}()
	return writes, func() { w.Stop(); cancel() }
}

func (s *statusWrites) n() int {
	n := <-s.count
	s.count <- n
	return n
}

var _ = Describe("Status writes (--status-coalesce-interval on the real-clock manager)", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond
	It("coalesces endpoint-count changes per ServiceChecker, and writes a readiness flip at once", func() {
		ns := createNamespace()
		createService(ns, "api")
		slice := createSlice(ns, "api", "api-1", true, true, true)
		sc := &v1alpha1.ServiceChecker{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop", Labels: map[string]string{realClockLabel: "true"}},
			Spec:       v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "api", Critical: true}}},
		}
		Expect(k8sClient.Create(ctx(), sc)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(entry(g, statusOf(ns, "shop")(g), ns, "api").ReadyEndpoints).To(BeEquivalentTo(3))
		}, timeout, interval).Should(Succeed())
		time.Sleep(realClockCoalesceInterval) // the first write's interval is over: the next count change is written at once

		writes, stop := watchWrites(ns, "shop")
		defer stop()
		Eventually(writes.n).Should(Equal(1)) // the watch starts with the current object

		// 20 scale steps 3 -> 4 -> 3 over about 2 s: readiness stays true, only readyEndpoints changes.
		for i := range 20 {
			var s discoveryv1.EndpointSlice
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(slice), &s)).To(Succeed())
			s.Endpoints = s.Endpoints[:3]
			if i%2 == 0 {
				s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.4"},
					Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
			}
			Expect(k8sClient.Update(ctx(), &s)).To(Succeed())
			time.Sleep(100 * time.Millisecond)
		}
		// The last step (3 endpoints) is written within one interval, by the write the coalescing deferred.
		Eventually(func(g Gomega) {
			g.Expect(entry(g, statusOf(ns, "shop")(g), ns, "api").ReadyEndpoints).To(BeEquivalentTo(3))
		}, realClockCoalesceInterval+2*time.Second, interval).Should(Succeed())
		Consistently(writes.n, realClockCoalesceInterval+time.Second, interval).Should(BeNumerically("<=", 1+3),
			"20 count changes in about 2 s with a %s interval: the first at once, then one per interval",
			realClockCoalesceInterval)
		GinkgoWriter.Printf("status writes for 20 endpoint-count changes: %d\n", writes.n()-1)

		// A readiness flip does not wait for the interval, even right after a write.
		before := writes.n()
		var s discoveryv1.EndpointSlice
		Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(slice), &s)).To(Succeed())
		for i := range s.Endpoints {
			s.Endpoints[i].Conditions.Ready = ptr.To(false)
		}
		flipped := time.Now()
		Expect(k8sClient.Update(ctx(), &s)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(entry(g, statusOf(ns, "shop")(g), ns, "api").Ready).To(BeFalse())
		}, realClockCoalesceInterval, 20*time.Millisecond).Should(Succeed(), "the flip waited for the coalescing interval")
		GinkgoWriter.Printf("readiness flip written %s after the slice update\n", time.Since(flipped).Round(time.Millisecond))
		Consistently(writes.n, time.Second, interval).Should(Equal(before+1),
			"exactly one write for the flip")
	})
})
