package controller

import (
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/cli"
)

// apiAnswer is the status code and body of a GET on a test manager's API.
func apiAnswer(g Gomega, addr, path string) (int, string) {
	resp, err := apiClient.Get("https://" + addr + path)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}

// Issue #14, scenario 1: storefront in namespace shop judges checkout ready (critical, minReady 1). Another team lists
// shop/checkout again with minReady 5. storefront's answer, from the API and from mwmctl through both sources, stays
// storefront's own.
var _ = Describe("Per-ServiceChecker verdicts", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond

	It("keeps another team's stricter ServiceChecker out of my frontend's answer", func() {
		shop, other := createNamespace(), createNamespace()
		createService(shop, "checkout")
		createSlice(shop, "checkout", "checkout-1", true)
		createChecker(shop, "storefront", v1alpha1.ServiceRef{Name: "checkout", Critical: true})
		createChecker(other, "strict", v1alpha1.ServiceRef{Name: "checkout", Namespace: shop, Critical: true, MinReady: 5})
		storefront, strict := shop+"/storefront", other+"/strict"

		By("both statuses are written: storefront not in maintenance, strict in maintenance")
		Eventually(func(g Gomega) {
			g.Expect(statusOf(shop, "storefront")(g).Status.Maintenance).To(BeFalse())
			g.Expect(statusOf(other, "strict")(g).Status.Maintenance).To(BeTrue())
		}, timeout, interval).Should(Succeed())

		for _, srv := range []string{leaderAPI.Addr().String(), followerAPI.Addr().String()} {
			Eventually(func(g Gomega) {
				code, mine := apiAnswer(g, srv, "/status?checker="+storefront)
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(mine).To(MatchRegexp(`^{"maintenance":false,"criticalNotReady":\[\],"pending":\[\],"services":1,"ready":1,`))
				code, theirs := apiAnswer(g, srv, "/status?checker="+strict)
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(theirs).To(MatchRegexp(`^{"maintenance":true,"criticalNotReady":\["` + shop +
					`/checkout"\],"pending":\[\],"services":1,"ready":0,`))
				GinkgoWriter.Printf("GET /status?checker=%s -> %s\nGET /status?checker=%s -> %s\n", storefront,
					mine, strict, theirs)
			}, timeout, interval).Should(Succeed())
		}
		By("namespace= is not a tenancy boundary: the stricter verdict counts there")
		code, body := apiAnswer(Default, leaderAPI.Addr().String(), "/status?namespace="+shop)
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(`"maintenance":true`))

		By("a checker that does not exist answers 404, never an all clear")
		code, body = apiAnswer(Default, leaderAPI.Addr().String(), "/status?checker="+shop+"/storefrnt")
		Expect(code).To(Equal(http.StatusNotFound), body)

		By("mwmctl check --checker answers the same through the API and through the kubeconfig")
		admin := kubeconfigFor(envtest.User{Name: "perchecker-admin", Groups: []string{"system:masters"}}, "default")
		api := []string{"--api-url", "https://" + leaderAPI.Addr().String(), "--api-insecure-skip-tls-verify"}
		kube := []string{"--kubeconfig", admin}
		for _, source := range [][]string{api, kube} {
			code, out, stderr := mwmctl(ctx(), append([]string{"check", "--checker", storefront}, source...)...)
			Expect(code).To(Equal(cli.ExitOK), "check --checker %s %v: %s %s", storefront, source, out, stderr)
			Expect(out).To(Equal("1 service, all ready: no maintenance\n"))
			code, out, stderr = mwmctl(ctx(), append([]string{"check", "--checker", strict}, source...)...)
			Expect(code).To(Equal(cli.ExitMaintenance), "check --checker %s %v: %s %s", strict, source, out, stderr)
			code, _, stderr = mwmctl(ctx(), append([]string{"check", "--checker", shop + "/storefrnt"}, source...)...)
			Expect(code).To(Equal(cli.ExitSource))
			Expect(stderr).To(ContainSubstring("check --checker for a typo"))
			code, _, stderr = mwmctl(ctx(), append([]string{"check", "-n", "shpo"}, source...)...)
			Expect(code).To(Equal(cli.ExitSource))
			Expect(stderr).To(ContainSubstring("no watched Service matches -n shpo"))
		}
	})
})
