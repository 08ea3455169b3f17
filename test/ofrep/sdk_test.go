package ofrep

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

var _ = Describe("the Go SDK with its OFREP provider", Ordered, func() {
	var (
		client *openfeature.Client
		scoped = openfeature.NewTargetlessEvaluationContext(map[string]any{"checker": checker})
	)
	BeforeAll(func() {
		// The README's Go example.
		Expect(openfeature.SetNamedProviderAndWait("mwm", ofrepprovider.NewProvider(api))).To(Succeed())
		client = openfeature.NewClient("mwm")
	})

	maintenance := func(ec openfeature.EvaluationContext) openfeature.BooleanEvaluationDetails {
		d, err := client.BooleanValueDetails(ctx(), "maintenance", true, ec)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		return d
	}
	// until polls the scoped flag every 10 ms and returns how long after since it read want.
	until := func(want bool, since time.Time) time.Duration {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if maintenance(scoped).Value == want {
				return time.Since(since)
			}
			time.Sleep(10 * time.Millisecond)
		}
		Fail("the Go SDK never read maintenance " + map[bool]string{true: "true", false: "false"}[want])
		return 0
	}

	It("reads maintenance flip false -> true -> false through an outage and a recovery, within 2 s each", func() {
		d := maintenance(scoped)
		Expect(d.Value).To(BeFalse())
		Expect(d.Reason).To(Equal(openfeature.TargetingMatchReason))
		Expect(d.Variant).To(Equal("off"))
		Expect(d.FlagMetadata).To(HaveKeyWithValue("stale", false))
		global := maintenance(openfeature.EvaluationContext{})
		Expect(global.Value).To(BeFalse())
		Expect(global.Reason).To(Equal(openfeature.StaticReason))

		DeferCleanup(setReady, true)
		delay := until(true, setReady(false))
		measure("outage -> Go SDK maintenance true (per-call evaluation)", delay)
		Expect(delay).To(BeNumerically("<=", boundSSE))
		Expect(maintenance(openfeature.EvaluationContext{}).Value).To(BeTrue(), "the global flag counts every ServiceChecker")

		delay = until(false, setReady(true))
		measure("recovery -> Go SDK maintenance false", delay)
		Expect(delay).To(BeNumerically("<=", boundSSE))
	})

	It("reads an active window's title and message, and maintenance-upcoming", func() {
		message, err := client.StringValue(ctx(), "maintenance-message", "unset", scoped)
		Expect(err).NotTo(HaveOccurred())
		Expect(message).To(BeEmpty())
		upcoming, err := client.BooleanValue(ctx(), "maintenance-upcoming", true, scoped)
		Expect(err).NotTo(HaveOccurred())
		Expect(upcoming).To(BeFalse())

		soon := &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "db-upgrade"},
			Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"}, Title: "Database upgrade",
				Message: "Checkout is paused until 11:00 UTC.", Start: ptr.To(metav1.NewTime(time.Now().Add(time.Hour))),
				Duration: &metav1.Duration{Duration: time.Hour}}}
		Expect(k8sClient.Create(ctx(), soon)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx(), soon) })
		Eventually(func() (bool, error) { return client.BooleanValue(ctx(), "maintenance-upcoming", false, scoped) }).
			WithTimeout(20 * time.Second).Should(BeTrue())

		active := soon.DeepCopy()
		active.ObjectMeta = metav1.ObjectMeta{Namespace: namespace, Name: "now"}
		active.Spec.Start = ptr.To(metav1.NewTime(time.Now().Add(-time.Minute)))
		Expect(k8sClient.Create(ctx(), active)).To(Succeed())
		Eventually(func() (string, error) { return client.StringValue(ctx(), "maintenance-message", "", scoped) }).
			WithTimeout(20 * time.Second).Should(Equal("Database upgrade: Checkout is paused until 11:00 UTC."))
		Expect(maintenance(scoped).Value).To(BeTrue(), "a window covering the ServiceChecker whole")
		Expect(k8sClient.Delete(ctx(), active)).To(Succeed())
		Eventually(func() (string, error) { return client.StringValue(ctx(), "maintenance-message", "x", scoped) }).
			WithTimeout(20 * time.Second).Should(BeEmpty())
	})

	It("answers errors the SDK understands: an unknown ServiceChecker, an unknown flag, a malformed checker", func() {
		d, err := client.BooleanValueDetails(ctx(), "maintenance", true,
			openfeature.NewTargetlessEvaluationContext(map[string]any{"checker": "shop/typo"}))
		Expect(err).To(HaveOccurred())
		Expect(d.Value).To(BeTrue(), "the caller's default, never a served all clear")
		Expect(d.ErrorCode).To(Equal(openfeature.InvalidContextCode))
		Expect(d.ErrorMessage).To(ContainSubstring("shop/typo"))

		d, err = client.BooleanValueDetails(ctx(), "maintenance-mode", false, scoped)
		Expect(err).To(HaveOccurred())
		Expect(d.ErrorCode).To(Equal(openfeature.FlagNotFoundCode))

		d, err = client.BooleanValueDetails(ctx(), "maintenance", false,
			openfeature.NewTargetlessEvaluationContext(map[string]any{"checker": 42}))
		Expect(err).To(HaveOccurred())
		Expect(d.ErrorCode).To(Equal(openfeature.InvalidContextCode))
	})
})
