package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is bin/manager running against the cluster, for figures that need a process of its own.
type process struct {
	cmd                     *exec.Cmd
	apiURL, metrics, probes string
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// startProcess runs bin/manager (one replica, no leader election) and waits until /readyz passes.
func (b *bench) startProcess() (*process, error) {
	p := &process{metrics: freeAddr(), probes: freeAddr()}
	api := freeAddr()
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
	resp, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		if v, ok := strings.CutPrefix(scanner.Text(), "go_memstats_heap_inuse_bytes "); ok {
			bytes, err := strconv.ParseFloat(v, 64)
			return bytes / (1 << 20), err
		}
	}
	return 0, fmt.Errorf("no go_memstats_heap_inuse_bytes in the metrics")
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

// memory measures bin/manager's heap in use and RSS once its cache holds 10,000 Services and their slices, with
// 1,000 of them watched and with none, and its cold start to a correct /services with 1,000 watched.
func (b *bench) memory(ctx context.Context) ([]figure, error) {
	start := time.Now()
	if err := big.create(ctx, b.admin); err != nil {
		return nil, err
	}
	step("created 10,000 Services with their EndpointSlices in %s", time.Since(start).Round(time.Second))
	var figures []figure
	for _, watched := range []int{0, 1000} {
		if err := big.unwatch(ctx, b.admin); err != nil {
			return nil, err
		}
		if watched > 0 {
			if err := big.watch(ctx, b.admin, 100, watched); err != nil {
				return nil, err
			}
		}
		var heap, rss, cold []float64
		for range b.reps {
			t0 := time.Now()
			p, err := b.startProcess()
			if err != nil {
				return nil, err
			}
			// The in-process manager's 1,000 Services are listed too.
			if err := p.waitReady(watched+b.small.services, 3*time.Minute); err != nil {
				p.stop()
				return nil, err
			}
			cold = append(cold, time.Since(t0).Seconds())
			time.Sleep(2 * time.Second)
			h, err1 := p.heapInUse()
			r, err2 := p.rss()
			p.stop()
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("read bin/manager's memory: %w", errors.Join(err1, err2))
			}
			heap, rss = append(heap, h), append(rss, r)
		}
		name := fmt.Sprintf("bin/manager memory, 11,000 Services in the cluster, %d watched", watched+b.small.services)
		figures = append(figures, figure{Name: name + ": RSS", Value: median(rss), Unit: "MiB", Goal: "< 100 MiB", Runs: rss},
			figure{Name: name + ": heap in use", Value: median(heap), Unit: "MiB", Runs: heap})
		if watched > 0 {
			figures = append(figures, figure{Name: fmt.Sprintf("cold start to a correct /services (%d Services)",
				watched+b.small.services), Value: median(cold), Unit: "s", Runs: cold})
		}
		step("memory with %d watched: RSS %.1f MiB, heap %.1f MiB", watched+b.small.services, median(rss), median(heap))
	}
	return figures, big.unwatch(ctx, b.admin) // the next figures count the watched Services
}

// eventCost measures bin/manager's CPU time per EndpointSlice event for a watched Service, with the same 1,000
// watched Services split over 10 and over 1,000 ServiceCheckers.
func (b *bench) eventCost(ctx context.Context) ([]figure, error) {
	const events = 300
	w := world{prefix: "events", namespaces: 10, services: 1000}
	if err := w.create(ctx, b.admin); err != nil {
		return nil, err
	}
	var figures []figure
	var perEvent []float64
	for _, checkers := range []int{10, 1000} {
		if err := w.unwatch(ctx, b.admin); err != nil {
			return nil, err
		}
		if err := w.watch(ctx, b.admin, checkers, 1000); err != nil {
			return nil, err
		}
		var runs []float64
		for range b.reps {
			p, err := b.startProcess()
			if err != nil {
				return nil, err
			}
			cpu, err := flipAndMeasure(ctx, b, p, w, events)
			p.stop()
			if err != nil {
				return nil, err
			}
			runs = append(runs, float64(cpu.Microseconds())/1000/events)
		}
		perEvent = append(perEvent, median(runs))
		figures = append(figures, figure{Name: fmt.Sprintf("CPU per EndpointSlice event, %d ServiceCheckers", checkers),
			Value: median(runs), Unit: "ms", Runs: runs})
		step("CPU per event with %d ServiceCheckers: %.2f ms", checkers, median(runs))
	}
	figures[1].Baseline = fmt.Sprintf("%.2fx the cost with 10", perEvent[1]/perEvent[0])
	figures[1].Goal = "flat (about 1x)"
	return figures, nil
}

// flipAndMeasure flips one watched Service's readiness `events` times, waiting for each to show in the API, and
// returns the CPU time the process spent meanwhile.
func flipAndMeasure(ctx context.Context, b *bench, p *process, w world, events int) (time.Duration, error) {
	if err := p.waitReady(1000+b.small.services, 3*time.Minute); err != nil {
		return 0, err
	}
	// Follow the change through the event stream: polling would add the API's own work to the figure.
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := b.flipperFor(streamCtx, p.apiURL, w)
	if err != nil {
		return 0, err
	}
	time.Sleep(time.Second) // let start-up work settle
	before, err := p.cpu()
	if err != nil {
		return 0, err
	}
	for range events {
		if _, err := f.flip(ctx); err != nil {
			return 0, err
		}
		if _, err := f.event(f.ready, 10*time.Second); err != nil {
			return 0, err
		}
	}
	after, err := p.cpu()
	return after - before, err
}
