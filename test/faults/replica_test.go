package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// replica is one bin/manager process: leader election on, its plain-HTTP API on a free loopback port, its
// kube-apiserver traffic through a proxy of its own.
type replica struct {
	name            string
	cmd             *exec.Cmd
	pid             int
	api             string // http://127.0.0.1:port
	apiAddr         string
	metrics, probes string
	logs            *testutil.SyncBuffer
	logPath         string
	exited          chan struct{}
	killedAt        time.Time // SIGKILL or SIGTERM sent
	client          *http.Client
	proxy           *testutil.Proxy // between this replica and kube-apiserver
}

func startReplica(name string, extra ...string) *replica {
	r := &replica{name: name, apiAddr: testutil.FreeAddr(), metrics: testutil.FreeAddr(), probes: testutil.FreeAddr(),
		logs: &testutil.SyncBuffer{}, logPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second}}
	r.api = "http://" + r.apiAddr
	var err error
	r.proxy, err = apiNet.proxyFor(name)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	cfg := kubeconfigBase.DeepCopy()
	for _, c := range cfg.Clusters {
		c.Server = "https://" + r.proxy.Addr()
	}
	kubeconfig := filepath.Join(logDir, name+".kubeconfig")
	ExpectWithOffset(1, clientcmd.WriteToFile(*cfg, kubeconfig)).To(Succeed())
	args := append([]string{"--kubeconfig", kubeconfig,
		"--leader-elect", "--leader-election-namespace", systemNamespace,
		"--leader-election-lease-duration", leaseDuration.String(),
		"--leader-election-renew-deadline", renewDeadline.String(),
		"--leader-election-retry-period", retryPeriod.String(),
		"--stale-after", staleAfter.String(), "--api-max-streams", strconv.Itoa(maxStreams),
		"--api-insecure", "--api-bind-address", r.apiAddr,
		"--metrics-bind-address", r.metrics, "--metrics-secure=false", "--health-probe-bind-address", r.probes,
		"--zap-time-encoding", "rfc3339nano"}, extra...)
	logFile, err := os.Create(r.logPath)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	r.cmd = exec.Command(managerBin, args...)
	r.cmd.Stdout, r.cmd.Stderr = io.MultiWriter(r.logs, logFile), io.MultiWriter(r.logs, logFile)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives a killed suite
	ExpectWithOffset(1, r.cmd.Start()).To(Succeed())
	r.pid = r.cmd.Process.Pid
	go func() { _ = r.cmd.Wait(); _ = logFile.Close(); close(r.exited) }()
	return r
}

// waitServing waits until the API answers /status with 200.
func (r *replica) waitServing(within time.Duration) {
	EventuallyWithOffset(1, func() error {
		code, _, err := r.status()
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET /status answered %d", code)
		}
		return err
	}).WithTimeout(within).WithPolling(200*time.Millisecond).Should(Succeed(), "%s never served; log in %s", r.name, r.logPath)
}

func (r *replica) alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// running reports whether the process runs, as the kernel sees it: not exited, not a zombie waiting to be reaped.
func (r *replica) running() bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.pid))
	if err != nil {
		return false
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// signal sends sig and records when.
func (r *replica) signal(sig syscall.Signal) {
	r.killedAt = time.Now()
	ExpectWithOffset(1, r.cmd.Process.Signal(sig)).To(Succeed())
}

// kill ends the process at once, if it still runs; for the clean-up.
func (r *replica) kill() {
	if r.alive() {
		if r.killedAt.IsZero() {
			r.killedAt = time.Now()
		}
		_ = r.cmd.Process.Kill()
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
		}
	}
}

// waitExit waits for the process to exit and returns its exit code (-1 when killed by a signal).
func (r *replica) waitExit(within time.Duration) (int, error) {
	select {
	case <-r.exited:
		return r.cmd.ProcessState.ExitCode(), nil
	case <-time.After(within):
		return 0, fmt.Errorf("%s did not exit within %s", r.name, within)
	}
}

// status is GET /status?checker=<the storefront ServiceChecker>.
func (r *replica) status() (int, statusBody, error) {
	var body statusBody
	resp, err := r.client.Get(r.api + "/status?checker=" + checker)
	if err != nil {
		return 0, body, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK {
		err = json.NewDecoder(resp.Body).Decode(&body)
	}
	return resp.StatusCode, body, err
}

type statusBody struct {
	Maintenance bool       `json:"maintenance"`
	Stale       bool       `json:"stale"`
	StaleSince  *time.Time `json:"staleSince"`
}

// metric reads one unlabelled gauge from the replica's metrics.
func (r *replica) metric(name string) (float64, error) {
	resp, err := r.client.Get("http://" + r.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		if v, ok := strings.CutPrefix(scanner.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s in the metrics of %s", name, r.name)
}

// rss is the process's resident set size in MiB (VmRSS of /proc/<pid>/status).
func (r *replica) rss() (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", r.pid)
}

// term is one term of leadership of a replica, from its log: the leader's work started and stopped (end is zero
// while it leads; for a killed replica it is the time of the signal).
type term struct {
	replica    string
	start, end time.Time
}

type logLine struct {
	TS  string `json:"ts"`
	Msg string `json:"msg"`
}

// lines returns the replica's structured log lines with msg, in order.
func (r *replica) lines(msg string) []time.Time {
	var at []time.Time
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if !strings.HasPrefix(line, "{") || !strings.Contains(line, msg) {
			continue
		}
		var l logLine
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != msg {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, l.TS); err == nil {
			at = append(at, t)
		}
	}
	return at
}

const (
	msgLeading = "leading: starting the leader's work"
	msgStopped = "the leader's work stopped"
)

// terms are the replica's terms of leadership, in order.
func (r *replica) terms() []term {
	starts, ends := r.lines(msgLeading), r.lines(msgStopped)
	terms := make([]term, len(starts))
	for i, s := range starts {
		terms[i] = term{replica: r.name, start: s}
		if i < len(ends) {
			terms[i].end = ends[i]
		} else if !r.alive() {
			terms[i].end = r.killedAt
		}
	}
	return terms
}

// leaders are the names of the replicas leading now (their last term is open).
func leaders() []string {
	var names []string
	for _, r := range replicas {
		if !r.alive() {
			continue
		}
		if t := r.terms(); len(t) > 0 && t[len(t)-1].end.IsZero() {
			names = append(names, r.name)
		}
	}
	return names
}

// leader is the one replica leading now, or nil.
func leader() *replica {
	names := leaders()
	if len(names) != 1 {
		return nil
	}
	return byName(names[0])
}

func byName(name string) *replica {
	for _, r := range replicas {
		if r.name == name {
			return r
		}
	}
	return nil
}

// writers counts, per replica, the status writes that changed Service ns/name to ready (the controller logs
// "service readiness changed" after each successful write) at or after since.
func writers(ns, name string, ready bool, since time.Time) map[string]int {
	counts := map[string]int{}
	for _, r := range replicas {
		for _, line := range strings.Split(r.logs.String(), "\n") {
			if !strings.Contains(line, "service readiness changed") {
				continue
			}
			var l struct {
				TS      string `json:"ts"`
				Msg     string `json:"msg"`
				Service struct{ Name, Namespace string }
				Ready   bool `json:"ready"`
			}
			if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "service readiness changed" ||
				l.Service.Namespace != ns || l.Service.Name != name || l.Ready != ready {
				continue
			}
			if at, err := time.Parse(time.RFC3339Nano, l.TS); err == nil && !at.Before(since) {
				counts[r.name]++
			}
		}
	}
	return counts
}

// expectOneLeaderAtATime checks, from every replica's log, that no two terms of leadership overlapped.
func expectOneLeaderAtATime() {
	var all []term
	for _, r := range replicas {
		all = append(all, r.terms()...)
	}
	slices.SortFunc(all, func(a, b term) int { return a.start.Compare(b.start) })
	for i := 1; i < len(all); i++ {
		prev := all[i-1]
		ExpectWithOffset(1, prev.end.IsZero() || !prev.end.After(all[i].start)).To(BeTrue(),
			"%s led from %s to %s and %s from %s: two replicas reconciled at once", prev.replica,
			prev.start.Format(time.StampMilli), endOf(prev), all[i].replica, all[i].start.Format(time.StampMilli))
		if prev.end.IsZero() {
			ExpectWithOffset(1, prev.replica).To(Equal(all[i].replica), "%s still leads while %s started leading at %s",
				prev.replica, all[i].replica, all[i].start.Format(time.StampMilli))
		}
	}
}

func endOf(t term) string {
	if t.end.IsZero() {
		return "now"
	}
	return t.end.Format(time.StampMilli)
}

// expectServed checks that every replica's /status?checker= says checkout is ready (no maintenance) or not.
func expectServed(g Gomega, rs []*replica, ready bool) {
	for _, r := range rs {
		code, body, err := r.status()
		g.Expect(err).NotTo(HaveOccurred(), r.name)
		g.Expect(code).To(Equal(http.StatusOK), r.name)
		g.Expect(body.Maintenance).To(Equal(!ready), "%s: maintenance", r.name)
	}
}

// sample is one GET /status of a poller.
type sample struct {
	at   time.Time
	code int // 0: no answer
	body statusBody
	err  string
}

// poller asks one replica GET /status?checker= every interval until stopped, and keeps every answer.
type poller struct {
	r       *replica
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	samples []sample
}

func (r *replica) poll(every time.Duration) *poller {
	p := &poller{r: r, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer GinkgoRecover()
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			s := sample{at: time.Now()}
			var err error
			s.code, s.body, err = r.status()
			if err != nil {
				s.err = err.Error()
			}
			p.mu.Lock()
			p.samples = append(p.samples, s)
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-ticker.C:
			}
		}
	}()
	return p
}

func (p *poller) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func (p *poller) all() []sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.samples)
}

// failures are the samples that were not a 200 with a body.
func (p *poller) failures() []string {
	var f []string
	for _, s := range p.all() {
		if s.code != http.StatusOK || s.err != "" {
			f = append(f, fmt.Sprintf("%s: %d %s", s.at.Format(time.StampMilli), s.code, s.err))
		}
	}
	return f
}

// first is the time of the first sample at or after `after` that matches, or zero.
func (p *poller) first(after time.Time, match func(statusBody) bool) time.Time {
	for _, s := range p.all() {
		if !s.at.Before(after) && s.code == http.StatusOK && match(s.body) {
			return s.at
		}
	}
	return time.Time{}
}

func startPollers(rs []*replica) []*poller {
	ps := make([]*poller, len(rs))
	for i, r := range rs {
		ps[i] = r.poll(100 * time.Millisecond)
	}
	return ps
}

func haltPollers(ps []*poller) {
	for _, p := range ps {
		p.halt()
	}
}

// countRequests sums the samples and the failed ones of pollers.
func countRequests(ps []*poller) (total, failed int, examples []string) {
	for _, p := range ps {
		total += len(p.all())
		f := p.failures()
		failed += len(f)
		for _, e := range f {
			if len(examples) < 5 {
				examples = append(examples, p.r.name+" "+e)
			}
		}
	}
	return total, failed, examples
}

func alive(rs []*replica) []*replica {
	var out []*replica
	for _, r := range rs {
		if r.alive() {
			out = append(out, r)
		}
	}
	return out
}

func except(rs []*replica, x *replica) []*replica {
	var out []*replica
	for _, r := range rs {
		if r != x {
			out = append(out, r)
		}
	}
	return out
}
