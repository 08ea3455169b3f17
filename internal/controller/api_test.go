package controller

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/httpapi"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// apiClient trusts the in-memory self-signed certificate of the test managers.
var apiClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed test certificate
}}

func apiGet(g Gomega, srv *httpapi.Server, path string) []snapshot.Entry {
	resp, err := apiClient.Get("https://" + srv.Addr().String() + path)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	var entries []snapshot.Entry
	g.Expect(json.NewDecoder(resp.Body).Decode(&entries)).To(Succeed())
	return entries
}

var _ = Describe("Maintenance API on the manager", func() {
	const timeout, interval = 10 * time.Second, 20 * time.Millisecond

	It("serves readiness from every replica and pushes a flip on the event stream", func() {
		ns := createNamespace()
		createService(ns, "api")
		slice := createSlice(ns, "api", "api-1", true, true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api", Critical: true})

		Consistently(follower.Elected(), 200*time.Millisecond).ShouldNot(BeClosed(), "the follower must not lead")
		for _, srv := range []*httpapi.Server{leaderAPI, followerAPI} {
			Eventually(func(g Gomega) {
				entries := apiGet(g, srv, "/services?namespace="+ns)
				g.Expect(entries).To(HaveLen(1))
				g.Expect(entries[0].Ready).To(BeTrue())
				g.Expect(entries[0].Critical).To(BeTrue())
				g.Expect(entries[0].ReadyEndpoints).To(Equal(int32(2)))
				g.Expect(entries[0].Checkers).To(Equal([]string{ns + "/shop"}))
			}, timeout, interval).Should(Succeed())
		}

		By("opening an event stream on the follower")
		req, err := http.NewRequest(http.MethodGet, "https://"+followerAPI.Addr().String()+"/services?namespace="+ns, nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Accept", "text/event-stream")
		streamClient := &http.Client{Transport: apiClient.Transport}
		resp, err := streamClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(resp.Body.Close)
		events := make(chan string, 16)
		go func() {
			defer GinkgoRecover()
			r := bufio.NewReader(resp.Body)
			for {
				line, err := r.ReadString('\n')
				if err == io.EOF || err != nil {
					close(events)
					return
				}
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					events <- data
				}
			}
		}()
		Eventually(events, timeout).Should(Receive(ContainSubstring(`"ready":true`)))

		By("marking every endpoint not ready")
		for i := range slice.Endpoints {
			slice.Endpoints[i].Conditions.Ready = ptr.To(false)
		}
		flipped := time.Now()
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(events, timeout).Should(Receive(And(ContainSubstring(`"ready":false`),
			ContainSubstring(`"reason":"NoReadyEndpoints"`))))
		latency := time.Since(flipped)
		AddReportEntry("EndpointSlice update to SSE event on the follower", latency.String())
		GinkgoWriter.Printf("EndpointSlice update -> SSE event on the follower: %v\n", latency)

		for _, srv := range []*httpapi.Server{leaderAPI, followerAPI} {
			Eventually(func(g Gomega) {
				entries := apiGet(g, srv, "/services?namespace="+ns)
				g.Expect(entries).To(HaveLen(1))
				g.Expect(entries[0].Ready).To(BeFalse())
			}, timeout, interval).Should(Succeed())
		}
		Eventually(func(g Gomega) []string {
			resp, err := apiClient.Get("https://" + leaderAPI.Addr().String() + "/status")
			g.Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			var summary snapshot.Summary
			g.Expect(json.NewDecoder(resp.Body).Decode(&summary)).To(Succeed())
			g.Expect(summary.Maintenance).To(BeTrue())
			return summary.CriticalNotReady
		}, timeout, interval).Should(ContainElement(ns + "/api"))

		Expect(leaderAPI.ReadyCheck(nil)).To(Succeed())
		Expect(followerAPI.ReadyCheck(nil)).To(Succeed())
	})
})
