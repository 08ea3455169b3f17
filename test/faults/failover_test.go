package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// currentReadiness is what every replica serves for checkout now (they must agree).
func currentReadiness(rs []*replica) bool {
	var ready bool
	Eventually(func(g Gomega) {
		_, body, err := rs[0].status()
		g.Expect(err).NotTo(HaveOccurred())
		ready = !body.Maintenance
		expectServed(g, rs, ready)
	}).WithTimeout(20 * time.Second).Should(Succeed())
	return ready
}

// leaderKilled SIGKILLs the leader, then flips checkout: only a new leader can reconcile that change.
func leaderKilled() {
	rs := alive(replicas)
	Expect(len(rs)).To(BeNumerically(">=", 2), "a standby to take over")
	Eventually(leader).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).ShouldNot(BeNil())
	old := leader()
	others := except(rs, old)
	ready := currentReadiness(rs)

	ps := startPollers(others)
	DeferCleanup(func() { haltPollers(ps) })
	By("SIGKILL " + old.name + ", the leader")
	old.signal(syscall.SIGKILL)
	killed := old.killedAt
	_, err := old.waitExit(5 * time.Second)
	Expect(err).NotTo(HaveOccurred())
	By("checkout flips: only a new leader can reconcile it")
	setReady(appNamespace, "checkout", !ready)
	bound := leaseDuration + 10*time.Second
	Eventually(func(g Gomega) {
		for _, p := range ps {
			g.Expect(p.first(killed, func(b statusBody) bool { return b.Maintenance == ready })).NotTo(BeZero(),
				"%s does not serve the change", p.r.name)
		}
	}).WithTimeout(bound+2*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(),
		"a standby reconciles within the lease duration + 10 s")
	haltPollers(ps)

	var served time.Duration
	for _, p := range ps {
		served = max(served, p.first(killed, func(b statusBody) bool { return b.Maintenance == ready }).Sub(killed))
	}
	Eventually(leader).WithTimeout(5*time.Second).WithPolling(100*time.Millisecond).ShouldNot(BeNil(), "a new leader")
	next := leader()
	terms := next.terms()
	takeover := terms[len(terms)-1].start.Sub(killed)
	total, failed, examples := countRequests(ps)
	results.add(row{scenario: fmt.Sprintf("leader SIGKILLed (%d standbys, lease %s)", len(others), leaseDuration),
		errors: fmt.Sprintf("%d of %d (standbys)", failed, total), served: seconds(served) + " (made after the kill)",
		takeover: seconds(takeover) + " to " + next.name + " leading", notes: "bound: lease + 10 s = " + seconds(bound)})

	Expect(failed).To(BeZero(), "the standbys' API failed: %v", examples)
	Expect(next).NotTo(Equal(old))
	Expect(served).To(BeNumerically("<=", bound))
	expectOneLeaderAtATime()
	Expect(writers(appNamespace, "checkout", !ready, killed)).To(Equal(map[string]int{next.name: 1}),
		"the change is written once, by the new leader")
}

// leaderTerminated SIGTERMs the leader with event streams open on it; the Lease must be released at once, the
// standby must lead and reconcile within 5 s, the streams end cleanly and no connection is accepted while the
// process finishes.
func leaderTerminated() {
	rs := alive(replicas)
	Expect(len(rs)).To(BeNumerically(">=", 2), "a standby to take over")
	Eventually(leader).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).ShouldNot(BeNil())
	old := leader()
	others := except(rs, old)
	ready := currentReadiness(rs)
	before, err := holder()
	Expect(err).NotTo(HaveOccurred())
	Expect(before).NotTo(BeEmpty())

	streamCtx, cancelStreams := context.WithCancel(context.Background())
	DeferCleanup(cancelStreams)
	streamClient := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 5 * time.Second}}
	streams := make([]*stream, 0, 5)
	for range 5 {
		s, resp, err := openStream(streamCtx, streamClient, old.api+"/events?checker="+checker, appNamespace, "checkout")
		Expect(err).NotTo(HaveOccurred())
		Expect(s).NotTo(BeNil(), "GET /events answered %v", resp)
		streams = append(streams, s)
	}
	Eventually(func(g Gomega) {
		for _, s := range streams {
			g.Expect(s.readiness()).NotTo(BeEmpty(), "the first event")
		}
	}).WithTimeout(5 * time.Second).Should(Succeed())

	ps := startPollers(others)
	DeferCleanup(func() { haltPollers(ps) })

	// Watchers, from the signal on: the Lease's holder, and whether the API still accepts connections.
	var (
		wg                   sync.WaitGroup
		released, refusedAt  time.Time
		runningWhenRefused   bool
		holderAfter, refused string
	)
	By("SIGTERM " + old.name + ", the leader")
	old.signal(syscall.SIGTERM)
	terminated := old.killedAt
	wg.Go(func() {
		for time.Since(terminated) < 10*time.Second {
			if h, err := holder(); err == nil && h != before {
				released, holderAfter = time.Now(), h
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for time.Since(terminated) < 15*time.Second {
			c, err := net.DialTimeout("tcp", old.apiAddr, 200*time.Millisecond)
			if err == nil {
				_ = c.Close()
				time.Sleep(2 * time.Millisecond)
				continue
			}
			refusedAt, runningWhenRefused, refused = time.Now(), old.running(), err.Error()
			return
		}
	})
	code, err := old.waitExit(15 * time.Second)
	Expect(err).NotTo(HaveOccurred())
	exited := time.Now()
	wg.Wait()

	By("the standby leads: checkout flips, only it can reconcile that")
	Eventually(leader).WithTimeout(5*time.Second).WithPolling(20*time.Millisecond).ShouldNot(BeNil(), "a new leader")
	next := leader()
	flipped := time.Now()
	setReady(appNamespace, "checkout", !ready)
	Eventually(func(g Gomega) {
		for _, p := range ps {
			g.Expect(p.first(flipped, func(b statusBody) bool { return b.Maintenance == ready })).NotTo(BeZero(),
				"%s does not serve the change", p.r.name)
		}
	}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	haltPollers(ps)
	var served time.Time
	for _, p := range ps {
		if at := p.first(flipped, func(b statusBody) bool { return b.Maintenance == ready }); at.After(served) {
			served = at
		}
	}
	terms := next.terms()
	leading := terms[len(terms)-1].start

	var clean int
	var lastEnd time.Time
	var endErrs []string
	for _, s := range streams {
		Eventually(s.done).WithTimeout(5 * time.Second).Should(BeClosed())
		at, err := s.ended()
		if errors.Is(err, io.EOF) {
			clean++
		} else {
			endErrs = append(endErrs, fmt.Sprint(err))
		}
		if at.After(lastEnd) {
			lastEnd = at
		}
	}
	total, failed, examples := countRequests(ps)
	results.add(row{scenario: fmt.Sprintf("leader SIGTERMed (%d standbys), %d event streams open on it", len(others), len(streams)),
		errors: fmt.Sprintf("%d of %d (standbys)", failed, total), served: seconds(served.Sub(terminated)) + " after SIGTERM",
		takeover: fmt.Sprintf("Lease released %s, standby leading %s after SIGTERM", seconds(released.Sub(terminated)),
			seconds(leading.Sub(terminated))),
		notes: fmt.Sprintf("%d/%d streams ended cleanly %s after SIGTERM; new connections refused %s after, process "+
			"exited %s after (code %d)", clean, len(streams), seconds(lastEnd.Sub(terminated)),
			seconds(refusedAt.Sub(terminated)), seconds(exited.Sub(terminated)), code)})

	Expect(failed).To(BeZero(), "the standby's API failed: %v", examples)
	Expect(code).To(Equal(0), "exit code after SIGTERM")
	Expect(released).NotTo(BeZero(), "the Lease was not released or taken over within 10 s")
	Expect(holderAfter).NotTo(Equal(before))
	Expect(next).NotTo(Equal(old))
	Expect(leading.Sub(terminated)).To(BeNumerically("<=", 5*time.Second), "the standby leads within 5 s")
	Expect(served.Sub(terminated)).To(BeNumerically("<=", 5*time.Second), "the standby reconciles within 5 s")
	Expect(clean).To(Equal(len(streams)), "streams not ended cleanly: %v", endErrs)
	Expect(refused).NotTo(BeEmpty(), "the API accepted connections until the process exited")
	Expect(runningWhenRefused).To(BeTrue(), "new connections were refused only once the process had exited (%s)", refused)
	Expect(lastEnd.Before(exited)).To(BeTrue(), "the streams ended before the process exited")
	expectOneLeaderAtATime()
	Expect(writers(appNamespace, "checkout", !ready, flipped)).To(Equal(map[string]int{next.name: 1}),
		"the change is written once, by the new leader")
}
