package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// scaleEvents is how many readiness flips each run of the scale section makes to measure the CPU per event.
const scaleEvents = 200

// scalePoints are the scale section's numbers of watched Services, 10 per ServiceChecker, all among the same
// 10,000 Services and EndpointSlices that every run caches.
var scalePoints = []struct{ watched, checkers int }{{100, 10}, {1000, 100}, {10000, 1000}}

// scalingRow is one line of the scaling table (medians of the runs). A null field was not measured: this
// bin/manager does not expose the metric.
type scalingRow struct {
	Watched       int      `json:"watched"`
	Checkers      int      `json:"checkers"`
	CPUPerEventMs float64  `json:"cpu_ms_per_event"`
	ReconcileMs   *float64 `json:"reconcile_ms_per_event"`
	PublishMs     *float64 `json:"snapshot_publish_ms"`
	RSSMiB        float64  `json:"rss_mib"`
	HeapMiB       float64  `json:"heap_inuse_mib"`
	ReqPerSec     float64  `json:"req_per_s_64_clients"`
	PrebuiltReqPS float64  `json:"prebuilt_req_per_s_64_clients"`
	ColdStartS    float64  `json:"cold_start_s"`
	RestartS      float64  `json:"restart_s"`
}

// scale runs bin/manager with 10,000 Services and EndpointSlices in the cluster and 100, 1000 and 10000 of them
// watched. For each, and each repetition: a start with statuses present (the time to a correct /services), then,
// after 5 s, RSS and heap; CPU time, reconcile time and snapshot publish time per readiness-flipping slice event
// over 200 flips; and GET /services at 64 clients against the same bytes from a pre-built server. Fresh
// ServiceCheckers (no status) are started once first, at 1000 watched in every repetition: the cold start. When
// bin/manager has --pprof-bind-address, the first run at 1000 and at 10000 watched ends with a CPU and a heap
// profile (<out>/profiles).
func (b *bench) scale(ctx context.Context) ([]figure, error) {
	b.stopInProcess()
	big := b.small
	big.services = 10000
	if !b.grown {
		start := time.Now()
		if err := big.create(ctx, b.admin, b.small.services); err != nil {
			return nil, err
		}
		b.grown = true
		step("grew the world to %d Services with their EndpointSlices in %s", big.services, time.Since(start).Round(time.Second))
	}
	profiling, err := b.managerHasFlag(pprofFlag)
	if err != nil {
		return nil, err
	}
	// With pprof on (it costs nothing until a profile is taken), rep 0 at 1000 and 10000 watched ends with profiles.
	startReady := func(watched int) (*process, string, time.Duration, error) {
		if !profiling {
			p, took, err := b.startReady(watched)
			return p, "", took, err
		}
		addr := testutil.FreeAddr()
		p, took, err := b.startReady(watched, pprofFlag+"="+addr)
		return p, "http://" + addr, took, err
	}
	b.scaling = nil
	var figures []figure
	byWatched := map[int]scalingRow{}
	for _, pt := range scalePoints {
		var cold, restart, rss, heap, cpu, reconcile, publish, rps, pre []float64
		for rep := range b.reps {
			if rep == 0 || pt.watched == 1000 {
				// Fresh ServiceCheckers without status: /services is correct only once bin/manager has judged them.
				if err := big.setWatched(ctx, b.admin, pt.checkers, pt.watched); err != nil {
					return nil, err
				}
				p, took, err := b.startReady(pt.watched)
				if err != nil {
					return nil, err
				}
				p.stop()
				cold = append(cold, took.Seconds())
			}
			p, pprofURL, took, err := startReady(pt.watched)
			if err != nil {
				return nil, err
			}
			m, err := b.measureProcess(ctx, p, big)
			if err == nil && pprofURL != "" && rep == 0 && pt.watched >= 1000 {
				label := fmt.Sprintf("%d-watched", pt.watched)
				if perr := b.profile(ctx, pprofURL, p.apiURL, big, filepath.Join(b.out, "profiles"), label); perr != nil {
					warnUnmeasured("profile at "+label, perr)
				}
			}
			p.stop()
			if err != nil {
				return nil, fmt.Errorf("%d watched: %w", pt.watched, err)
			}
			restart, rss, heap, cpu = append(restart, took.Seconds()), append(rss, m.rss), append(heap, m.heap), append(cpu, m.cpu)
			rps, pre = append(rps, m.rps), append(pre, m.prebuilt)
			if m.reconcile >= 0 {
				reconcile = append(reconcile, m.reconcile)
			}
			if m.publish >= 0 {
				publish = append(publish, m.publish)
			}
		}
		row := scalingRow{Watched: pt.watched, Checkers: pt.checkers, CPUPerEventMs: median(cpu),
			ReconcileMs: medianOrNil(reconcile), PublishMs: medianOrNil(publish), RSSMiB: median(rss), HeapMiB: median(heap),
			ReqPerSec: median(rps), PrebuiltReqPS: median(pre), ColdStartS: median(cold), RestartS: median(restart)}
		b.scaling = append(b.scaling, row)
		byWatched[pt.watched] = row
		step("%d watched in %d ServiceCheckers: CPU %.2f ms/event, RSS %.1f MiB, %.0f req/s (pre-built %.0f), publish %s, "+
			"cold start %.2f s, restart %.2f s", pt.watched, pt.checkers, row.CPUPerEventMs, row.RSSMiB, row.ReqPerSec,
			row.PrebuiltReqPS, msOrNA(row.PublishMs), row.ColdStartS, row.RestartS)

		switch pt.watched {
		case 1000:
			figures = append(figures,
				figure{ID: "scale.cpu_per_event.1000_watched", Name: "bin/manager CPU per readiness-flipping slice event, " +
					"1000 watched in 100 ServiceCheckers", Value: row.CPUPerEventMs, Unit: "ms", Runs: cpu,
					Baseline: "reconcile " + msOrNA(row.ReconcileMs) + "; snapshot publish " + msOrNA(row.PublishMs), Goal: "<= 2 ms"},
				figure{ID: "scale.rss.1000_watched", Name: "bin/manager RSS, 10000 Services + EndpointSlices cached, 1000 watched",
					Value: row.RSSMiB, Unit: "MiB", Runs: rss, Baseline: fmt.Sprintf("heap in use %.1f MiB", row.HeapMiB),
					Goal: "<= 64 MiB"},
				figure{ID: "scale.restart.1000_watched", Name: "restart with statuses present: process start -> correct " +
					"/services, 1000 Services", Value: row.RestartS, Unit: "s", Runs: restart, Goal: "<= 1.5 s"},
				figure{ID: "scale.cold_start.1000_watched", Name: "cold start: process start -> correct /services, " +
					"ServiceCheckers without status, 1000 Services", Value: row.ColdStartS, Unit: "s", Runs: cold, Goal: "<= 2 s"},
				throughputRow(row, rps))
		case 10000:
			cpuRow := figure{ID: "scale.cpu_per_event.10000_watched", Name: "bin/manager CPU per readiness-flipping slice " +
				"event, 10000 watched in 1000 ServiceCheckers", Value: row.CPUPerEventMs, Unit: "ms", Runs: cpu,
				Baseline: "reconcile " + msOrNA(row.ReconcileMs) + "; snapshot publish " + msOrNA(row.PublishMs),
				Goal:     "<= 2x the 1000 watched figure"}
			if base, ok := byWatched[1000]; ok && base.CPUPerEventMs > 0 {
				cpuRow.Baseline = fmt.Sprintf("%.2fx the 1000 watched figure; ", row.CPUPerEventMs/base.CPUPerEventMs) + cpuRow.Baseline
			}
			figures = append(figures, cpuRow,
				figure{ID: "scale.rss.10000_watched", Name: "bin/manager RSS, 10000 Services + EndpointSlices cached, " +
					"10000 watched in 1000 ServiceCheckers", Value: row.RSSMiB, Unit: "MiB", Runs: rss,
					Baseline: fmt.Sprintf("heap in use %.1f MiB", row.HeapMiB), Goal: "<= 128 MiB"},
				throughputRow(row, rps))
		}
	}
	return figures, big.unwatch(ctx, b.admin)
}

func throughputRow(row scalingRow, runs []float64) figure {
	return figure{ID: fmt.Sprintf("scale.throughput.%d_watched", row.Watched),
		Name:  fmt.Sprintf("bin/manager GET /services at 64 clients, %d watched", row.Watched),
		Value: row.ReqPerSec, Unit: unitRPS, Runs: runs,
		Baseline: fmt.Sprintf("pre-built bytes %.0f req/s: %.2fx", row.PrebuiltReqPS, row.ReqPerSec/row.PrebuiltReqPS),
		Goal:     ">= 0.9x pre-built"}
}

// measured is what measureProcess reads from one bin/manager run; a negative reconcile or publish time was not
// measured.
type measured struct {
	rss, heap, cpu, reconcile, publish, rps, prebuilt float64
}

// measureProcess reads a started bin/manager's memory after 5 s, its costs per readiness-flipping event over
// scaleEvents flips of the world's first Service, and its GET /services throughput at 64 clients against the same
// bytes served pre-built.
func (b *bench) measureProcess(ctx context.Context, p *process, w world) (measured, error) {
	var m measured
	time.Sleep(5 * time.Second) // the Service and EndpointSlice informers sync, then settle
	var err1, err2 error
	m.heap, err1 = p.heapInUse()
	m.rss, err2 = p.rss()
	if err := errors.Join(err1, err2); err != nil {
		return m, fmt.Errorf("read bin/manager's memory: %w", err)
	}
	if err := b.flipAndMeasure(ctx, p, w, scaleEvents, &m); err != nil {
		return m, err
	}
	body, err := getBody(p.apiURL + "/services")
	if err != nil {
		return m, err
	}
	reference := prebuilt(body)
	defer reference.Close()
	if m.rps, _, err = load(p.apiURL+"/services", 64, b.duration, nil); err != nil {
		return m, err
	}
	m.prebuilt, _, err = load(reference.URL, 64, b.duration, nil)
	return m, err
}

// flipAndMeasure flips the world's first Service `events` times (an even number: it ends ready), waiting for each
// flip on the event stream, and fills in the process's CPU, reconcile and snapshot publish time per event.
func (b *bench) flipAndMeasure(ctx context.Context, p *process, w world, events int, m *measured) error {
	// Follow the change through the event stream: polling would add the API's own work to the figure.
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := b.flipperFor(streamCtx, p.apiURL, w)
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // let start-up work settle
	cpuBefore, err := p.cpu()
	if err != nil {
		return err
	}
	// Metrics this build may not expose (yet) print n/a.
	recBefore, recErr := p.reconcileTime()
	pubBefore, pubCountBefore, pubErr := p.publishTime()
	for range events {
		if _, err := f.flip(ctx); err != nil {
			return err
		}
		if _, err := f.event(f.ready, 10*time.Second); err != nil {
			return err
		}
	}
	cpuAfter, err := p.cpu()
	if err != nil {
		return err
	}
	m.cpu = ms(cpuAfter-cpuBefore) / float64(events)
	m.reconcile, m.publish = -1, -1
	recAfter, err := p.reconcileTime()
	if recErr = cmp.Or(recErr, err); recErr == nil {
		m.reconcile = ms(recAfter-recBefore) / float64(events)
	} else {
		warnUnmeasured("reconcile time", recErr)
	}
	pubAfter, pubCountAfter, err := p.publishTime()
	if pubErr = cmp.Or(pubErr, err); pubErr == nil && pubCountAfter == pubCountBefore {
		pubErr = fmt.Errorf("no snapshot published during %d readiness flips", events)
	}
	if pubErr == nil {
		m.publish = (pubAfter - pubBefore) * 1000 / (pubCountAfter - pubCountBefore)
	} else {
		warnUnmeasured("snapshot publish time", pubErr)
	}
	return nil
}

// warnUnmeasured says once per figure why it prints n/a.
func warnUnmeasured(what string, err error) {
	if _, told := warned[what]; !told {
		warned[what] = struct{}{}
		fmt.Fprintf(os.Stderr, "bench: %s not measured (n/a): %v\n", what, err)
	}
}

var warned = map[string]struct{}{}

func medianOrNil(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	m := median(v)
	return &m
}

func msOrNA(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return format(*v) + " ms"
}

// scalingTable is the scale section's table in Markdown.
func scalingTable(rows []scalingRow) string {
	var b strings.Builder
	b.WriteString("Scaling: bin/manager with 10000 Services + EndpointSlices cached, 10 watched Services per ServiceChecker " +
		"(per-event figures over 200 readiness flips; snapshot publish time from mwm_snapshot_publish_seconds).\n\n")
	b.WriteString("| watched | ServiceCheckers | CPU per event | reconcile per event | snapshot publish | RSS | heap in use | " +
		"GET /services, 64 clients | pre-built bytes | cold start | restart |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %s ms | %s | %s | %s MiB | %s MiB | %s req/s (%.2fx) | %s req/s | %s s | %s s |\n",
			r.Watched, r.Checkers, format(r.CPUPerEventMs), msOrNA(r.ReconcileMs), msOrNA(r.PublishMs), format(r.RSSMiB),
			format(r.HeapMiB), format(r.ReqPerSec), r.ReqPerSec/r.PrebuiltReqPS, format(r.PrebuiltReqPS),
			format(r.ColdStartS), format(r.RestartS))
	}
	return b.String()
}
