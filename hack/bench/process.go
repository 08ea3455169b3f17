package main

import (
	"bufio"
	"context"
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
	apiURL, metrics, probes string
}

// startProcess runs bin/manager (one replica, no leader election) and waits until /readyz passes.
func (b *bench) startProcess() (*process, error) {
	p := &process{metrics: testutil.FreeAddr(), probes: testutil.FreeAddr()}
	api := testutil.FreeAddr()
	p.apiURL = "https://" + api
	p.cmd = exec.Command(b.manager, "--kubeconfig", b.cluster.KubeconfigPath, "--api-bind-address", api,
		"--metrics-bind-address", p.metrics, "--metrics-secure=false", "--health-probe-bind-address", p.probes,
		"--zap-log-level=error")
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (make build): %w", b.manager, err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.probes + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("bin/manager was not ready within 3 minutes")
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = p.cmd.Process.Wait()
}

// rss is the process's resident set size in MiB (VmRSS).
func (p *process) rss() (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
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

// metric reads the value of the first metrics line that starts with name and holds every one of labels.
func (p *process) metric(name string, labels ...string) (float64, error) {
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	scanner := bufio.NewScanner(resp.Body)
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
		return strconv.ParseFloat(fields[len(fields)-1], 64)
	}
	return 0, fmt.Errorf("no %s%v in bin/manager's metrics", name, labels)
}

// waitReady waits until the process's /services lists n ready Services.
func (p *process) waitReady(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if got, err := readyCount(p.apiURL); err == nil && got == n {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("bin/manager did not list %d ready Services within %s", n, timeout)
}

// big is the memory figure's world: 10,000 Services with two endpoints each in 50 namespaces.
var big = world{prefix: "big", namespaces: 50, services: 10000}

// exclusive stops the in-process manager and removes its ServiceCheckers, so that bin/manager is the only
// manager and watches only what a figure sets up.
func (b *bench) exclusive(ctx context.Context) error {
	if b.stopMgr != nil {
		b.stopMgr()
		b.stopMgr = nil
		time.Sleep(time.Second)
	}
	return b.small.unwatch(ctx, b.admin)
}

// memory measures bin/manager's heap in use and RSS once its cache holds every Service and EndpointSlice of the
// cluster (10,000 of them created here, 11,000 in all), with none and 1,000 of them watched; and its cold start
// to a correct /services for 1,000 Services of ServiceCheckers that have no status yet.
func (b *bench) memory(ctx context.Context) ([]figure, error) {
	if err := b.exclusive(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := big.create(ctx, b.admin); err != nil {
		return nil, err
	}
	step("created 10,000 Services with their EndpointSlices in %s", time.Since(start).Round(time.Second))
	var figures []figure
	for _, watched := range []int{0, 1000} {
		var heap, rss, cold []float64
		for range b.reps {
			// Fresh ServiceCheckers, without status: /services is correct only once bin/manager has judged them.
			if err := big.unwatch(ctx, b.admin); err != nil {
				return nil, err
			}
			if watched > 0 {
				if err := big.watch(ctx, b.admin, 100, watched); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			p, err := b.startProcess()
			if err != nil {
				return nil, err
			}
			if err := p.waitReady(watched, 3*time.Minute); err != nil {
				p.stop()
				return nil, err
			}
			cold = append(cold, time.Since(t0).Seconds())
			time.Sleep(5 * time.Second) // the leader's Service and EndpointSlice informers sync, then settle
			h, err1 := p.heapInUse()
			r, err2 := p.rss()
			p.stop()
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("read bin/manager's memory: %w", errors.Join(err1, err2))
			}
			heap, rss = append(heap, h), append(rss, r)
		}
		name := fmt.Sprintf("bin/manager, 11,000 Services and EndpointSlices cached, %d watched", watched)
		figures = append(figures, figure{Name: name + ": RSS", Value: median(rss), Unit: "MiB", Goal: "< 100 MiB", Runs: rss},
			figure{Name: name + ": heap in use", Value: median(heap), Unit: "MiB", Runs: heap})
		if watched > 0 {
			figures = append(figures, figure{Name: fmt.Sprintf("cold start to a correct /services (%d Services, "+
				"ServiceCheckers without status)", watched), Value: median(cold), Unit: "s", Runs: cold})
		}
		step("memory with %d watched: RSS %.1f MiB, heap %.1f MiB", watched, median(rss), median(heap))
	}
	return figures, big.unwatch(ctx, b.admin) // the next figures count the watched Services
}

// eventCost measures bin/manager's CPU time per EndpointSlice event for a watched Service, with the same 1,000
// watched Services split over 10 and over 1,000 ServiceCheckers.
func (b *bench) eventCost(ctx context.Context) ([]figure, error) {
	const events = 300
	if err := b.exclusive(ctx); err != nil {
		return nil, err
	}
	w := world{prefix: "events", namespaces: 10, services: 1000}
	if err := w.create(ctx, b.admin); err != nil {
		return nil, err
	}
	var figures []figure
	var reconcilePer []float64
	for _, checkers := range []int{10, 1000} {
		if err := w.unwatch(ctx, b.admin); err != nil {
			return nil, err
		}
		if err := w.watch(ctx, b.admin, checkers, 1000); err != nil {
			return nil, err
		}
		var cpuRuns, reconcileRuns []float64
		for range b.reps {
			p, err := b.startProcess()
			if err != nil {
				return nil, err
			}
			cpu, reconcile, err := flipAndMeasure(ctx, b, p, w, events)
			p.stop()
			if err != nil {
				return nil, err
			}
			cpuRuns = append(cpuRuns, float64(cpu.Microseconds())/1000/events)
			reconcileRuns = append(reconcileRuns, reconcile.Seconds()*1000/events)
		}
		reconcilePer = append(reconcilePer, median(reconcileRuns))
		figures = append(figures,
			figure{Name: fmt.Sprintf("reconcile time per EndpointSlice event, %d ServiceCheckers", checkers),
				Value: median(reconcileRuns), Unit: "ms", Runs: reconcileRuns},
			figure{Name: fmt.Sprintf("bin/manager CPU per EndpointSlice event (all work, incl. snapshot), %d ServiceCheckers",
				checkers), Value: median(cpuRuns), Unit: "ms", Runs: cpuRuns})
		step("per event with %d ServiceCheckers: reconcile %.2f ms, process CPU %.2f ms", checkers,
			median(reconcileRuns), median(cpuRuns))
	}
	if reconcilePer[0] > 0 {
		figures[2].Baseline = fmt.Sprintf("%.2fx the time with 10", reconcilePer[1]/reconcilePer[0])
	}
	figures[2].Goal = "flat (about 1x)"
	figures[3].Baseline = fmt.Sprintf("%.2fx the CPU with 10", figures[3].Value/figures[1].Value)
	return figures, w.unwatch(ctx, b.admin)
}

// flipAndMeasure flips one watched Service's readiness `events` times, waiting for each to show in the API, and
// returns the CPU time the process spent meanwhile.
func flipAndMeasure(ctx context.Context, b *bench, p *process, w world, events int) (cpu, reconcile time.Duration, err error) {
	if err := p.waitReady(1000, 3*time.Minute); err != nil {
		return 0, 0, err
	}
	// Follow the change through the event stream: polling would add the API's own work to the figure.
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := b.flipperFor(streamCtx, p.apiURL, w)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(time.Second) // let start-up work settle
	cpuBefore, err := p.cpu()
	if err != nil {
		return 0, 0, err
	}
	// controller-runtime's reconcile time; when this build does not expose it, the row reports 0.
	recBefore, recErr := p.reconcileTime()
	for range events {
		if _, err := f.flip(ctx); err != nil {
			return 0, 0, err
		}
		if _, err := f.event(f.ready, 10*time.Second); err != nil {
			return 0, 0, err
		}
	}
	cpuAfter, err := p.cpu()
	if err != nil {
		return 0, 0, err
	}
	recAfter, err := p.reconcileTime()
	if recErr != nil || err != nil {
		fmt.Fprintln(os.Stderr, "bench: reconcile time not measured:", errors.Join(recErr, err))
		return cpuAfter - cpuBefore, 0, nil
	}
	return cpuAfter - cpuBefore, recAfter - recBefore, nil
}

// reconcileTime reads controller_runtime_reconcile_time_seconds_sum of the servicechecker controller.
func (p *process) reconcileTime() (time.Duration, error) {
	v, err := p.metric("controller_runtime_reconcile_time_seconds_sum", `controller="servicechecker"`)
	return time.Duration(v * float64(time.Second)), err
}
