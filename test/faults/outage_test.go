package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mamrezb/maintenance-window-manager/internal/cli"
)

// outageLength is how long an outage lasts at least: longer than the renew deadline and the Lease, so the leader
// stops reconciling and the Lease expires during it. The blackhole also outlasts client-go's HTTP/2 health check
// (HTTP2_READ_IDLE_TIMEOUT_SECONDS 10 + HTTP2_PING_TIMEOUT_SECONDS 5, as the manager sets them): the connection the
// managers held dies during it, and they reconnect through a network that still swallows everything. (Shorter
// blackholes, where the dead connection outlives the outage, and 45-second outages of both kinds were run by hand
// too.)
var outageLength = map[mode]time.Duration{refuse: 12 * time.Second, blackhole: 20 * time.Second}

// outage cuts every replica's connection to kube-apiserver in the given way for outageLength and until every
// replica says it is stale, changes a Service's readiness during it and once more after it, and checks what the
// issue requires: 200 throughout, stale then fresh within the bounds, the changes served, the same processes, one
// leader at a time.
func outage(m mode) {
	rs := alive(replicas)
	Expect(rs).To(HaveLen(3), "the outages run with three replicas")
	pids := map[string]int{}
	for _, r := range rs {
		pids[r.name] = r.pid
	}
	Eventually(leaders).WithTimeout(20*time.Second).WithPolling(100*time.Millisecond).Should(HaveLen(1), "a leader before the outage")
	Eventually(func(g Gomega) {
		for _, r := range rs {
			_, body, err := r.status()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(body.Stale).To(BeFalse(), r.name)
		}
		expectServed(g, rs, true)
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// One event stream per replica, open throughout: it must say stale, then fresh, and never break.
	streamCtx, cancelStreams := context.WithCancel(context.Background())
	DeferCleanup(cancelStreams)
	streams := make([]*stream, len(rs))
	for i, r := range rs {
		s, resp, err := openStream(streamCtx, &http.Client{}, r.api+"/events?checker="+checker, appNamespace, "checkout")
		Expect(err).NotTo(HaveOccurred())
		Expect(s).NotTo(BeNil(), "GET /events of %s: %v", r.name, resp)
		streams[i] = s
	}

	ps := startPollers(rs)
	DeferCleanup(func() { haltPollers(ps); _ = apiNet.setMode(pass) })
	start := time.Now()
	By(fmt.Sprintf("%s: the managers' API server connections fail (%s)", start.Format(time.StampMilli), m))
	Expect(apiNet.setMode(m)).To(Succeed())

	Eventually(func(g Gomega) {
		for _, p := range ps {
			g.Expect(p.first(start, func(b statusBody) bool { return b.Stale })).NotTo(BeZero(), "%s is not stale yet", p.r.name)
		}
	}).WithTimeout(staleBound+2*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(),
		"every replica says stale within --stale-after + 10 s")
	for _, r := range rs {
		Expect(r.metric("mwm_api_stale")).To(Equal(1.0), "%s: mwm_api_stale during the outage", r.name)
		for _, probe := range []string{"/readyz", "/healthz"} {
			resp, err := r.client.Get("http://" + r.probes + probe)
			Expect(err).NotTo(HaveOccurred())
			_ = resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK), "%s: %s while stale (a control-plane outage must not "+
				"empty the Service)", r.name, probe)
		}
	}
	for _, r := range rs {
		code, out, errOut := mwmctl("check", "--api-url", r.api, "--checker", checker)
		Expect(code).To(Equal(cli.ExitSource), "mwmctl check on stale data: %s%s", out, errOut)
		Expect(errOut).To(ContainSubstring("stale"))
		code, out, errOut = mwmctl("check", "--allow-stale", "--api-url", r.api, "--checker", checker)
		Expect(code).To(Equal(0), "mwmctl check --allow-stale: %s%s", out, errOut)
		code, out, errOut = mwmctl("status", "--api-url", r.api, "--checker", checker)
		Expect(code).To(Equal(0), "mwmctl status: %s%s", out, errOut)
		Expect(errOut).To(MatchRegexp(`warning: stale data: .*\d+s`))
	}
	By("checkout stops being ready during the outage (straight on kube-apiserver)")
	setReady(appNamespace, "checkout", false)
	time.Sleep(time.Until(start.Add(outageLength[m])))

	end := time.Now()
	By(fmt.Sprintf("%s: the connections work again", end.Format(time.StampMilli)))
	Expect(apiNet.setMode(pass)).To(Succeed())
	Eventually(func(g Gomega) {
		for _, p := range ps {
			g.Expect(p.first(end, func(b statusBody) bool { return !b.Stale })).NotTo(BeZero(), "%s is still stale", p.r.name)
			g.Expect(p.first(end, func(b statusBody) bool { return b.Maintenance })).NotTo(BeZero(),
				"%s does not serve the change made during the outage", p.r.name)
		}
	}).WithTimeout(recoveryBound + 2*time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

	By("checkout is ready again, after the outage")
	after := time.Now()
	setReady(appNamespace, "checkout", true)
	Eventually(func(g Gomega) {
		for _, p := range ps {
			g.Expect(p.first(after, func(b statusBody) bool { return !b.Maintenance })).NotTo(BeZero(),
				"%s does not serve the change made after the outage", p.r.name)
		}
	}).WithTimeout(recoveryBound + 2*time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	haltPollers(ps)
	for i, s := range streams {
		Expect(s.staleness()).To(Equal([]bool{false, true, false}), "the status events of %s's stream", rs[i].name)
		_, err := s.ended()
		Expect(err).NotTo(HaveOccurred(), "%s's event stream broke during the outage", rs[i].name)
	}
	cancelStreams()

	var staleMax, freshMax, servedMax, afterMax time.Duration
	for _, p := range ps {
		staleAt := p.first(start, func(b statusBody) bool { return b.Stale })
		staleMax = max(staleMax, staleAt.Sub(start))
		freshMax = max(freshMax, p.first(end, func(b statusBody) bool { return !b.Stale }).Sub(end))
		servedMax = max(servedMax, p.first(end, func(b statusBody) bool { return b.Maintenance }).Sub(end))
		afterMax = max(afterMax, p.first(after, func(b statusBody) bool { return !b.Maintenance }).Sub(after))
		for _, s := range p.all() {
			if s.at.Equal(staleAt) {
				Expect(s.body.StaleSince).NotTo(BeNil(), "%s: stale without staleSince", p.r.name)
				Expect(s.body.StaleSince.After(start)).To(BeFalse(),
					"%s: staleSince %s is after the outage began (%s): not the last confirmation", p.r.name,
					s.body.StaleSince.Format(time.StampMilli), start.Format(time.StampMilli))
			}
		}
	}
	// The first leader after the outage, from the replicas' logs.
	var takeover time.Duration
	Eventually(leaders).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).Should(HaveLen(1), "one leader after the outage")
	for _, r := range rs {
		for _, t := range r.terms() {
			if t.start.After(end) && (takeover == 0 || t.start.Sub(end) < takeover) {
				takeover = t.start.Sub(end)
			}
		}
	}
	total, failed, examples := countRequests(ps)
	results.add(row{scenario: fmt.Sprintf("API server %s for %s (3 replicas)", map[mode]string{refuse: "refuses (RST)",
		blackhole: "blackholed (silent)"}[m], seconds(end.Sub(start))),
		errors: fmt.Sprintf("%d of %d", failed, total), staleDetected: seconds(staleMax), fresh: seconds(freshMax),
		served:   fmt.Sprintf("%s (made during), %s (made after)", seconds(servedMax), seconds(afterMax)),
		takeover: "leader again " + seconds(takeover) + " after", notes: "same PIDs"})

	Expect(failed).To(BeZero(), "GET /status failed during the outage: %v", examples)
	for _, r := range rs {
		Expect(r.alive()).To(BeTrue(), "%s exited", r.name)
		Expect(r.pid).To(Equal(pids[r.name]))
		Expect(r.metric("mwm_api_stale")).To(Equal(0.0), "%s: mwm_api_stale after the outage", r.name)
	}
	Expect(staleMax).To(BeNumerically("<=", staleBound), "stale detected after %s", staleMax)
	Expect(freshMax).To(BeNumerically("<=", recoveryBound), "fresh again after %s", freshMax)
	Expect(servedMax).To(BeNumerically("<=", recoveryBound), "the change made during the outage served after %s", servedMax)
	Expect(afterMax).To(BeNumerically("<=", recoveryBound), "the change made after the outage served after %s", afterMax)
	expectOneLeaderAtATime()
	// Each change was written once, by one replica.
	Expect(writers(appNamespace, "checkout", false, start)).To(HaveLen(1))
	Expect(writers(appNamespace, "checkout", false, start)).To(ContainElement(1))
	Expect(writers(appNamespace, "checkout", true, after)).To(HaveLen(1))
	Expect(writers(appNamespace, "checkout", true, after)).To(ContainElement(1))
}

// mwmctl runs mwmctl in this process and returns its exit code, stdout and stderr.
func mwmctl(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Run(ctx(), "mwmctl", args, cli.IO{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

// startedDuringOutage starts a fourth replica while the API server refuses every connection, as a Pod restarted
// during an outage: it must not exit, its probes must answer (/healthz always, /readyz once it serves), its API must
// say 503 with Retry-After rather than anything it does not know, and once contact returns it must serve the current
// data and join the election as one more candidate.
func startedDuringOutage() {
	Expect(alive(replicas)).To(HaveLen(3))
	DeferCleanup(func() { _ = apiNet.setMode(pass) })
	Expect(apiNet.setMode(refuse)).To(Succeed())
	// With the default secure metrics: their authentication must not need the API server at start either.
	r := startReplica("replica-4", "--metrics-secure=true")
	replicas = append(replicas, r)
	start := time.Now()

	var unsynced []int
	var healthy bool
	for time.Since(start) < 8*time.Second {
		time.Sleep(200 * time.Millisecond)
		Expect(r.alive()).To(BeTrue(), "%s exited while the API server was away; log in %s", r.name, r.logPath)
		resp, err := r.client.Get(r.api + "/status")
		if err != nil {
			continue // not listening yet
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		unsynced = append(unsynced, resp.StatusCode)
		Expect(resp.StatusCode).To(Equal(http.StatusServiceUnavailable), "%s answered before it synced", r.name)
		Expect(resp.Header.Get("Retry-After")).NotTo(BeEmpty())
		if resp, err := r.client.Get("http://" + r.probes + "/healthz"); err == nil {
			healthy = healthy || resp.StatusCode == http.StatusOK
			_ = resp.Body.Close()
		}
	}
	Expect(unsynced).NotTo(BeEmpty(), "%s never listened while the API server was away", r.name)
	Expect(healthy).To(BeTrue(), "/healthz must not depend on the API server")

	end := time.Now()
	Expect(apiNet.setMode(pass)).To(Succeed())
	r.waitServing(recoveryBound)
	served := time.Since(end)
	ready := isReady(appNamespace, "checkout")
	Eventually(func(g Gomega) { expectServed(g, []*replica{r}, ready) }).WithTimeout(5 * time.Second).Should(Succeed())
	resp, err := r.client.Get("http://" + r.probes + "/readyz")
	Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "/readyz once it serves")
	Eventually(leaders).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(HaveLen(1))
	results.add(row{scenario: fmt.Sprintf("replica started while the API server refuses (%s)", seconds(end.Sub(start))),
		errors: fmt.Sprintf("%d answers, all 503 + Retry-After", len(unsynced)), fresh: seconds(served) + " to serving",
		notes: "stayed up, /healthz 200 throughout"})
	Expect(served).To(BeNumerically("<=", recoveryBound))
	expectOneLeaderAtATime()
}

// leaderIsolated blackholes only the leader's connection: a standby must take over once the Lease expires, the
// isolated leader must have stopped reconciling before that (one leader at a time) while its API keeps answering and
// says stale, and once its network is back it must serve what the new leader wrote.
func leaderIsolated() {
	rs := alive(replicas)
	Expect(len(rs)).To(BeNumerically(">=", 2))
	Eventually(leader).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).ShouldNot(BeNil())
	old := leader()
	others := except(rs, old)
	ready := currentReadiness(rs)
	ps := startPollers(rs)
	DeferCleanup(func() { haltPollers(ps); _ = old.proxy.SetMode(pass) })
	var oldPoller *poller
	for _, p := range ps {
		if p.r == old {
			oldPoller = p
		}
	}

	start := time.Now()
	By(fmt.Sprintf("%s: only %s, the leader, loses its network (blackhole)", start.Format(time.StampMilli), old.name))
	Expect(old.proxy.SetMode(blackhole)).To(Succeed())
	setReady(appNamespace, "checkout", !ready)
	bound := leaseDuration + 10*time.Second
	Eventually(func(g Gomega) {
		for _, p := range ps {
			if p != oldPoller {
				g.Expect(p.first(start, func(b statusBody) bool { return b.Maintenance == ready })).NotTo(BeZero(),
					"%s does not serve the change", p.r.name)
			}
		}
		g.Expect(oldPoller.first(start, func(b statusBody) bool { return b.Stale })).NotTo(BeZero(), "%s is not stale", old.name)
	}).WithTimeout(staleBound + 2*time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	Expect(oldPoller.first(start, func(b statusBody) bool { return b.Maintenance == ready })).To(BeZero(),
		"%s, cut off, served a change it cannot have seen", old.name)

	end := time.Now()
	By(fmt.Sprintf("%s: %s's network is back", end.Format(time.StampMilli), old.name))
	Expect(old.proxy.SetMode(pass)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(oldPoller.first(end, func(b statusBody) bool { return !b.Stale })).NotTo(BeZero(), "%s is still stale", old.name)
		g.Expect(oldPoller.first(end, func(b statusBody) bool { return b.Maintenance == ready })).NotTo(BeZero(),
			"%s does not serve the change", old.name)
	}).WithTimeout(recoveryBound + 2*time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	haltPollers(ps)

	var served time.Duration
	for _, p := range ps {
		if p != oldPoller {
			served = max(served, p.first(start, func(b statusBody) bool { return b.Maintenance == ready }).Sub(start))
		}
	}
	staleAt := oldPoller.first(start, func(b statusBody) bool { return b.Stale }).Sub(start)
	fresh := oldPoller.first(end, func(b statusBody) bool { return !b.Stale }).Sub(end)
	caughtUp := oldPoller.first(end, func(b statusBody) bool { return b.Maintenance == ready }).Sub(end)
	// How long the former leader said "fresh" while it still served what it knew before the cut.
	var freshButOld time.Duration
	if caughtUp > fresh {
		freshButOld = caughtUp - fresh
	}
	var takeover time.Duration
	var next string
	for _, r := range others {
		for _, t := range r.terms() {
			if t.start.After(start) && (next == "" || t.start.Sub(start) < takeover) {
				takeover, next = t.start.Sub(start), r.name
			}
		}
	}
	total, failed, examples := countRequests(ps)
	results.add(row{scenario: fmt.Sprintf("only the leader cut off (silent) for %s, %d standbys", seconds(end.Sub(start)), len(others)),
		errors: fmt.Sprintf("%d of %d (all replicas)", failed, total), staleDetected: seconds(staleAt) + " (the cut-off leader)",
		fresh:    seconds(fresh) + " (the cut-off leader)",
		served:   fmt.Sprintf("%s by the standbys (made at the cut), %s after by the former leader", seconds(served), seconds(caughtUp)),
		takeover: seconds(takeover) + " to " + next + " leading", notes: fmt.Sprintf("bound: lease + 10 s = %s; the "+
			"former leader said fresh while serving its old data for %s", seconds(bound), seconds(freshButOld))})

	Expect(failed).To(BeZero(), "GET /status failed: %v", examples)
	Expect(old.alive()).To(BeTrue())
	Expect(next).NotTo(BeEmpty(), "no standby took over")
	Expect(served).To(BeNumerically("<=", bound))
	Expect(staleAt).To(BeNumerically("<=", staleBound))
	Expect(fresh).To(BeNumerically("<=", recoveryBound))
	Expect(caughtUp).To(BeNumerically("<=", recoveryBound))
	// "stale": false promises data confirmed within --stale-after; its watches must be back that soon.
	Expect(freshButOld).To(BeNumerically("<=", staleAfter), "%s said fresh %s before it served the change",
		old.name, freshButOld)
	expectOneLeaderAtATime()
	Expect(writers(appNamespace, "checkout", !ready, start)).To(Equal(map[string]int{next: 1}),
		"the change is written once, by the new leader")
}
