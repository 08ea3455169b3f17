package browser

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// behindTwoReplicas is a scenario of the page's ordered specs (it needs ServiceChecker shop/storefront, operational):
// behind a Service without session affinity, the page's event stream and its re-fetches may reach different
// replicas, one a change behind the other. The page must not keep the older replica's state, for no further event
// would come to correct it.
func behindTwoReplicas() {
	{
		second, err := startReplica(managerBin, logs)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.stop)
		Eventually(second.synced).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(),
			func() string { return logs.String() })

		// The stream always reaches the primary. The page's fetches too, except the first two after the change,
		// which reach the second replica: as many as the stream's two events (changed, then status) make the old
		// script fetch, so that it ends on the second replica's state.
		var behind atomic.Bool
		var fromSecond atomic.Int64
		two, err := testutil.StartPrefixProxyTo(prefix, func(r *http.Request) string {
			if !strings.HasSuffix(r.URL.Path, "/events") && behind.Load() && fromSecond.Load() < 2 {
				fromSecond.Add(1)
				return second.apiAddr
			}
			return apiAddr
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(two.Close)

		tab := newTab()
		open(tab, two.URL+shared)
		streaming(tab)
		Expect(eval[bool](tab, "window.sameDocument = true")).To(BeTrue())
		Expect(eval[string](tab, `document.getElementById("state").textContent`)).To(Equal("All systems operational"))

		// The second replica falls behind: its connections to kube-apiserver stall, it sees no further change.
		Expect(second.proxy.SetMode(testutil.ProxyBlackhole)).To(Succeed())
		behind.Store(true)
		DeferCleanup(setReady, "checkout", true)
		setReady("checkout", false)
		took := waitUntil(tab, stateIs("maintenance"), 10*time.Second)
		measure("two replicas, the page's first fetches reaching the one behind: outage to page %s",
			took.Round(time.Millisecond))
		Expect(took).To(BeNumerically("<", live))
		Expect(fromSecond.Load()).To(BeNumerically("==", 2), "the replica behind answered the page's first fetches")
		Consistently(func() bool { return eval[bool](tab, stateIs("maintenance")) }).
			WithTimeout(time.Second).WithPolling(100 * time.Millisecond).Should(BeTrue())
		Expect(tab.ConsoleErrors()).To(BeEmpty())
	}
}
