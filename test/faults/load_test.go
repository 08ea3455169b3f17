package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	loadPollers = 200
	loadStreams = maxStreams // exactly the cap: one more must be refused
	loadFor     = 30 * time.Second
	slowConns   = 2000
	rssBound    = 50.0 // MiB, the bound: reported, never asserted (make test asserts no memory figures)
)

// loaded is the replica the load and slow-client scenarios use: the last one standing.
func loaded() *replica {
	rs := alive(replicas)
	ExpectWithOffset(1, rs).NotTo(BeEmpty())
	return rs[0]
}

// load holds 200 keep-alive clients polling /services and 100 event streams on one replica for 30 s while
// flipService flips every second: no request may fail, every stream must see every flip, the 101st stream gets 503
// with Retry-After; the replica's RSS growth is reported.
func load() {
	r := loaded()
	Eventually(func(g Gomega) {
		resp, err := r.client.Get(r.api + "/services")
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		var entries []json.RawMessage
		g.Expect(json.NewDecoder(resp.Body).Decode(&entries)).To(Succeed())
		g.Expect(entries).To(HaveLen(loadServices + 1))
	}).WithTimeout(30*time.Second).Should(Succeed(), "%s lists every watched Service", r.name)
	// The flip Service is ready before the load starts.
	setReady(flipNamespace, flipService, true)
	time.Sleep(2 * time.Second)
	rssBefore, err := r.rss()
	Expect(err).NotTo(HaveOccurred())

	ctx, cancel := context.WithCancel(context.Background())
	DeferCleanup(cancel)
	streams := openLoadStreams(ctx, r)
	capped := expectStreamCap(r)

	By(fmt.Sprintf("%d clients poll /services, %s flips every second, for %s", loadPollers, flipService, loadFor))
	clients := startClients(r, rssBefore)
	flips := 0
	ready := true
	loadStart := time.Now()
	for time.Since(loadStart) < loadFor {
		time.Sleep(time.Second)
		ready = !ready
		setReady(flipNamespace, flipService, ready)
		flips++
	}
	want := alternating(true, flips)
	Eventually(func(g Gomega) {
		for _, s := range streams {
			g.Expect(s.readiness()).To(HaveLen(len(want)))
		}
	}).WithTimeout(10 * time.Second).Should(Succeed())
	loadEnd := time.Now()
	clients.halt()
	rssAfter, err := r.rss()
	Expect(err).NotTo(HaveOccurred())

	var missed, broken int
	var example string
	for _, s := range streams {
		if got := s.readiness(); !slices.Equal(got, want) {
			missed++
			example = fmt.Sprintf("one stream saw %v, want %v", got, want)
		}
		if _, err := s.ended(); err != nil {
			broken++
			example = fmt.Sprintf("a stream ended: %v", err)
		}
	}
	changes := leadershipChanges(loadStart, loadEnd)
	rssMax := max(clients.rssMax, rssAfter)
	growth := rssMax - rssBefore
	verdict := "within"
	if growth >= rssBound {
		verdict = "NOT within"
	}
	served := fmt.Sprintf("%d flips, each on every stream", flips)
	if missed > 0 {
		served = fmt.Sprintf("%d flips; %d streams missed some", flips, missed)
	}
	results.add(row{scenario: fmt.Sprintf("load: %d Services, %d clients polling /services every 1 s, %d streams, "+
		"1 flip/s for %s", loadServices+1, loadPollers, loadStreams, loadFor),
		errors: fmt.Sprintf("%d of %d requests; %d streams broke", clients.failures.Load(), clients.requests.Load(), broken),
		served: served,
		rss: fmt.Sprintf("+%.1f MiB (%.1f -> max %.1f MiB; %s the issue's %.0f MiB)", growth, rssBefore, rssMax,
			verdict, rssBound),
		notes: fmt.Sprintf("stream 101: %s; leadership changes during the load: %d", capped, len(changes))})
	AddReportEntry("RSS growth under load (MiB)", growth)

	Expect(clients.failures.Load()).To(BeZero(), "polling /services failed: %v", clients.failed)
	// A leader that lost its Lease (a starved machine can delay a renewal past the deadline) reconciles the flips of
	// its gap as one: say so when it happened.
	Expect(missed+broken).To(BeZero(), "%s; status writes of the flips: %d of %d; leadership changes during the load: %v",
		example, countWrites(flipNamespace, flipService, loadStart), flips, changes)
	cancel()
}

// openLoadStreams opens the load's event streams: half follow flipChecker, half the whole list.
func openLoadStreams(ctx context.Context, r *replica) []*stream {
	c := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 10 * time.Second, MaxIdleConnsPerHost: loadStreams}}
	streams := make([]*stream, 0, loadStreams)
	for i := range loadStreams {
		url := r.api + "/events"
		if i%2 == 0 {
			url += "?checker=" + flipChecker
		}
		s, resp, err := openStream(ctx, c, url, flipNamespace, flipService)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		ExpectWithOffset(1, s).NotTo(BeNil(), "stream %d: %v", i, resp)
		streams = append(streams, s)
	}
	EventuallyWithOffset(1, func(g Gomega) {
		var bad []string
		for _, s := range streams {
			if !slices.Equal(s.readiness(), []bool{true}) {
				bad = append(bad, s.String())
			}
		}
		g.Expect(bad).To(BeEmpty())
	}).WithTimeout(10 * time.Second).Should(Succeed())
	return streams
}

// expectStreamCap opens one stream more than --api-max-streams: 503 with Retry-After and a JSON error.
func expectStreamCap(r *replica) string {
	By("one stream more than --api-max-streams")
	resp, err := r.client.Get(r.api + "/events")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	ExpectWithOffset(1, resp.StatusCode).To(Equal(http.StatusServiceUnavailable), string(body))
	ExpectWithOffset(1, resp.Header.Get("Retry-After")).NotTo(BeEmpty())
	ExpectWithOffset(1, resp.Header.Get("Content-Type")).To(Equal("application/json"))
	return fmt.Sprintf("%d %s, Retry-After: %s", resp.StatusCode, http.StatusText(resp.StatusCode), resp.Header.Get("Retry-After"))
}

// clients are the load's polling clients and the sampler of the replica's RSS.
type clients struct {
	requests, failures atomic.Int64
	stop               chan struct{}
	wg                 sync.WaitGroup
	mu                 sync.Mutex
	failed             []string // the first few failures
	rssMax             float64
}

// startClients starts loadPollers clients, each with its own keep-alive connection, asking GET /services once a
// second (spread over the second), and samples the replica's RSS twice a second.
func startClients(r *replica, rss float64) *clients {
	c := &clients{stop: make(chan struct{}), rssMax: rss}
	for i := range loadPollers {
		c.wg.Go(func() {
			// The gzipped bytes are read whole, not decoded.
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
			defer hc.CloseIdleConnections()
			c.every(time.Second, time.Duration(i)*time.Second/loadPollers, func() {
				c.requests.Add(1)
				if err := pollServices(hc, r.api); err != nil {
					c.failures.Add(1)
					c.mu.Lock()
					if len(c.failed) < 5 {
						c.failed = append(c.failed, err.Error())
					}
					c.mu.Unlock()
				}
			})
		})
	}
	c.wg.Go(func() {
		c.every(500*time.Millisecond, 0, func() {
			if v, err := r.rss(); err == nil {
				c.mu.Lock()
				c.rssMax = max(c.rssMax, v)
				c.mu.Unlock()
			}
		})
	})
	return c
}

// every runs fn after offset and then every interval until the clients stop.
func (c *clients) every(interval, offset time.Duration, fn func()) {
	select {
	case <-c.stop:
		return
	case <-time.After(offset):
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		fn()
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

func (c *clients) halt() {
	close(c.stop)
	c.wg.Wait()
}

// leadershipChanges lists the terms of leadership that began or ended between from and to.
func leadershipChanges(from, to time.Time) []string {
	var changes []string
	for _, r := range replicas {
		for _, t := range r.terms() {
			if (t.start.After(from) && t.start.Before(to)) || (t.end.After(from) && t.end.Before(to)) {
				changes = append(changes, fmt.Sprintf("%s led %s-%s", t.replica, t.start.Format(time.StampMilli), endOf(t)))
			}
		}
	}
	return changes
}

// countWrites counts the status writes that changed the readiness of Service ns/name since `since`, on every replica.
func countWrites(ns, name string, since time.Time) int {
	n := 0
	for _, ready := range []bool{false, true} {
		for _, c := range writers(ns, name, ready, since) {
			n += c
		}
	}
	return n
}

// pollServices is one GET /services with gzip, read whole.
func pollServices(c *http.Client, api string) error {
	req, err := http.NewRequest(http.MethodGet, api+"/services", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return fmt.Errorf("read /services: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /services: %s", resp.Status)
	}
	if want, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); n != want || n == 0 {
		return fmt.Errorf("GET /services: %d bytes of %s", n, resp.Header.Get("Content-Length"))
	}
	return nil
}

// slowClients opens 2,000 connections that send part of a request's headers and nothing more: a normal client must
// still be served while they are open, and the server must close every one of them within 10 s.
func slowClients() {
	r := loaded()
	type slow struct {
		opened, closed time.Time
		err            error
	}
	conns := make([]*slow, slowConns)
	var wg sync.WaitGroup
	DeferCleanup(wg.Wait)
	started := time.Now()
	var dialFailures []string
	for i := range conns {
		c, err := net.DialTimeout("tcp", r.apiAddr, 5*time.Second)
		if err != nil {
			dialFailures = append(dialFailures, err.Error())
			continue
		}
		s := &slow{opened: time.Now()}
		conns[i] = s
		if _, err := c.Write([]byte("GET /status HTTP/1.1\r\nHost: faults\r\nX-Slow: ")); err != nil {
			s.err = err
		}
		wg.Go(func() {
			defer func() { _ = c.Close() }()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			n, err := c.Read(make([]byte, 1))
			s.closed = time.Now()
			if n > 0 {
				err = errors.New("the server answered a request it never fully received")
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.err = errors.New("still open after 20 s")
			}
		})
	}
	opened := time.Since(started)
	Expect(dialFailures).To(BeEmpty(), "connecting %d slow clients", slowConns)

	By("a normal client while they are open")
	served := make([]time.Duration, 0, 10)
	for range 10 {
		t0 := time.Now()
		code, _, err := r.status()
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK))
		served = append(served, time.Since(t0))
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	var longest time.Duration
	var bad []string
	for _, s := range conns {
		if s.err != nil {
			bad = append(bad, s.err.Error())
			continue
		}
		longest = max(longest, s.closed.Sub(s.opened))
	}
	results.add(row{scenario: fmt.Sprintf("%d clients that never finish their headers (opened in %s)", slowConns, seconds(opened)),
		errors: fmt.Sprintf("0 of %d normal GET /status (slowest %s)", len(served), slices.Max(served).Round(time.Millisecond)),
		notes:  fmt.Sprintf("all closed by the server, each within %s of opening", seconds(longest))})

	Expect(bad).To(BeEmpty(), "slow connections")
	Expect(longest).To(BeNumerically("<=", 10*time.Second), "the server closes a connection without headers within 10 s")
}
