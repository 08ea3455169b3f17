package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// process is bin/manager running against the cluster, for figures that need a process of its own.
type process struct {
	cmd                     *exec.Cmd
	started                 time.Time // just before the exec
	apiURL, metrics, probes string
}

// startProcess runs bin/manager (one replica, no leader election) with the given extra flags; it does not wait
// for anything, so that callers can time the start.
func (b *bench) startProcess(extra ...string) (*process, error) {
	p := &process{metrics: testutil.FreeAddr(), probes: testutil.FreeAddr()}
	api := testutil.FreeAddr()
	p.apiURL = "https://" + api
	args := append([]string{"--kubeconfig", b.cluster.KubeconfigPath, "--api-bind-address", api,
		"--metrics-bind-address", p.metrics, "--metrics-secure=false", "--health-probe-bind-address", p.probes,
		"--zap-log-level=error"}, extra...)
	p.cmd = exec.Command(b.manager, args...)
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (make build): %w", b.manager, err)
	}
	return p, nil
}

// startReady runs bin/manager and waits until its /services lists `watched` ready Services; it returns the time
// from the exec to that answer.
func (b *bench) startReady(watched int, extra ...string) (*process, time.Duration, error) {
	p, err := b.startProcess(extra...)
	if err != nil {
		return nil, 0, err
	}
	took, err := p.waitReady(watched, 3*time.Minute)
	if err != nil {
		p.stop()
		return nil, 0, err
	}
	return p, took, nil
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = p.cmd.Process.Wait()
}

// waitReady polls the process's /services every 20 ms until it lists n Services, all ready, and returns the time
// since the exec.
func (p *process) waitReady(n int, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if got, all, err := readyCount(p.apiURL); err == nil && got == n && all == n {
			return time.Since(p.started), nil
		}
		if p.cmd.ProcessState != nil {
			return 0, fmt.Errorf("bin/manager exited: %s", p.cmd.ProcessState)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("bin/manager did not list %d ready Services within %s", n, timeout)
}

// rss is the process's resident set size in MiB (VmRSS).
func (p *process) rss() (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
}

// cpu is the process's user+system CPU time (/proc/PID/stat, clock ticks of 10 ms).
func (p *process) cpu() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(raw)[strings.LastIndexByte(string(raw), ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// heapInUse reads go_memstats_heap_inuse_bytes from the metrics endpoint, in MiB.
func (p *process) heapInUse() (float64, error) {
	v, err := p.metric("go_memstats_heap_inuse_bytes")
	return v / (1 << 20), err
}

// errNoMetric says that this bin/manager does not expose a metric (yet): the row prints n/a.
var errNoMetric = errors.New("metric not exposed")

// metric sums the values of every metrics line of the series name that holds each of labels (a histogram's
// _sum or _count over all its label sets).
func (p *process) metric(name string, labels ...string) (float64, error) {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	var sum float64
	found := false
next:
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		sum, found = sum+v, true
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("%s%s: %w", name, strings.Join(labels, ","), errNoMetric)
	}
	return sum, nil
}

// reconcileTime reads controller_runtime_reconcile_time_seconds_sum of the servicechecker controller.
func (p *process) reconcileTime() (time.Duration, error) {
	v, err := p.metric("controller_runtime_reconcile_time_seconds_sum", `controller="servicechecker"`)
	return time.Duration(v * float64(time.Second)), err
}

// publishTime reads the manager's snapshot publish histogram (mwm_snapshot_publish_seconds): total seconds and
// number of publishes so far.
func (p *process) publishTime() (sum, count float64, err error) {
	if sum, err = p.metric("mwm_snapshot_publish_seconds_sum"); err != nil {
		return 0, 0, err
	}
	count, err = p.metric("mwm_snapshot_publish_seconds_count")
	return sum, count, err
}

// managerHasFlag tells whether bin/manager --help lists flag (e.g. "--status-coalesce-interval"), so that the
// harness measures what this build can do and says n/a for the rest.
func (b *bench) managerHasFlag(flag string) (bool, error) {
	out, err := exec.Command(b.manager, "--help").CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) { // flag's -help exits 0 or 2 depending on the handling; both print usage
		return false, fmt.Errorf("run %s --help (make build): %w", b.manager, err)
	}
	return strings.Contains(string(out), " -"+strings.TrimLeft(flag, "-")+" ") ||
		strings.Contains(string(out), " -"+strings.TrimLeft(flag, "-")+"\n"), nil
}
