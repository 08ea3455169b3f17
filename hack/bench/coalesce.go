package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	// coalesceFlag is the manager's flag for coalescing count-only status changes (default 5s, 0 = at once).
	coalesceFlag = "--status-coalesce-interval"
	// countChanges endpoint-count changes (3 -> 4 -> 3 ready endpoints, readiness unchanged), one per countPace:
	// a rolling update's pace, slow enough that a manager writing at once writes each.
	countChanges = 200
	countPace    = 50 * time.Millisecond
	// countSettle is how long after the last change writes are still counted: more than the 5s default interval.
	countSettle = 7 * time.Second
	// amidFlips readiness flips, each right after a count change, that coalescing must not hold back.
	amidFlips = 20
)

// coalesce runs bin/manager over the 1,000 Services in 100 ServiceCheckers and counts, as the API server sees
// them (a watch on the ServiceChecker), the status writes for 200 endpoint-count changes that keep readiness:
// with the default --status-coalesce-interval and, when this build has the flag, with 0. With the default it also
// times readiness flips made right after a count change, which must be written at once.
func (b *bench) coalesce(ctx context.Context) ([]figure, error) {
	b.stopInProcess()
	has, err := b.managerHasFlag(coalesceFlag)
	if err != nil {
		return nil, err
	}
	if err := b.small.setWatched(ctx, b.admin, 100, 1000); err != nil {
		return nil, err
	}
	countWrites := func(args ...string) (int64, []time.Duration, error) {
		p, _, err := b.startReady(1000, args...)
		if err != nil {
			return 0, nil, err
		}
		defer p.stop()
		n, err := b.countStatusWrites(ctx, p)
		if err != nil || len(args) > 0 {
			return n, nil, err
		}
		amid, err := b.flipsAmidCountChanges(ctx, p)
		return n, amid, err
	}
	byDefault, amid, err := countWrites()
	if err != nil {
		return nil, err
	}
	atOnce := "n/a: this bin/manager has no " + coalesceFlag
	if has {
		n, _, err := countWrites(coalesceFlag + "=0")
		if err != nil {
			return nil, err
		}
		atOnce = fmt.Sprintf("%d writes", n)
	}
	step("status writes for %d endpoint-count changes: %d with the default interval; with %s=0: %s",
		countChanges, byDefault, coalesceFlag, atOnce)
	amidMs := make([]float64, len(amid))
	for i, d := range amid {
		amidMs[i] = ms(d)
	}
	return []figure{
		{ID: "coalesce.count_changes", Name: fmt.Sprintf("status writes for %d endpoint-count changes keeping readiness "+
			"(3 -> 4 -> 3 ready endpoints, one every %s), bin/manager with the default %s", countChanges, countPace, coalesceFlag),
			Value: float64(byDefault), Unit: unitWrites, Runs: []float64{float64(byDefault)},
			Baseline: fmt.Sprintf("with %s=0: %s", coalesceFlag, atOnce), Goal: "<= 20, coalesced"},
		{ID: "coalesce.flip_amid_count_changes", Name: fmt.Sprintf("readiness flip right after an endpoint-count change, "+
			"default %s: slice write -> SSE event (%d flips)", coalesceFlag, amidFlips),
			Value: ms(percentile(amid, 0.5)), Unit: fmt.Sprintf("ms p50 / %.1f ms max", ms(percentile(amid, 1))), Runs: amidMs,
			Goal: "written at once (as freshness)"},
	}, nil
}

// countService is the Service whose endpoint count changes: the second of the world, watched by checker-0 too.
func (b *bench) countService() (ns, name string) { return b.small.namespace(1), b.small.service(1) }

// setEndpoints gives the count Service's slice n ready endpoints.
func (b *bench) setEndpoints(ctx context.Context, n int) error {
	ns, name := b.countService()
	s := &discoveryv1.EndpointSlice{}
	if err := b.admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-1"}, s); err != nil {
		return err
	}
	s.Endpoints = testutil.EndpointSlice(ns, name, n, true).Endpoints
	return b.admin.Update(ctx, s)
}

// countStatusWrites sets the count Service to 3 ready endpoints, waits until the process shows it, then changes it
// 200 times between 4 and 3 and counts checker-0's modifications (every status write the API server accepted)
// until countSettle after the last change.
func (b *bench) countStatusWrites(ctx context.Context, p *process) (int64, error) {
	if err := b.setEndpoints(ctx, 3); err != nil {
		return 0, err
	}
	if err := b.waitEndpoints(p, 3, countSettle+10*time.Second); err != nil {
		return 0, err
	}
	ns := b.small.namespace(0)
	var list v1alpha1.ServiceCheckerList
	if err := b.admin.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return 0, err
	}
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.admin.Watch(watchCtx, &v1alpha1.ServiceCheckerList{}, &client.ListOptions{Namespace: ns,
		FieldSelector: fields.OneTermEqualSelector("metadata.name", "checker-0"),
		Raw:           &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		return 0, fmt.Errorf("watch ServiceChecker %s/checker-0: %w", ns, err)
	}
	defer w.Stop()
	var writes atomic.Int64
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				writes.Add(1)
			}
		}
	}()
	start := time.Now()
	for i := range countChanges {
		if err := b.setEndpoints(ctx, 4-i%2); err != nil { // 4, 3, 4, ... 3: it ends at 3
			return 0, err
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * countPace)))
	}
	time.Sleep(countSettle)
	n := writes.Load()
	return n, b.waitEndpoints(p, 3, time.Second)
}

// waitEndpoints waits until the process's GET /services/{ns}/{name} of the count Service shows n ready endpoints.
func (b *bench) waitEndpoints(p *process, n int32, timeout time.Duration) error {
	ns, name := b.countService()
	var e snapshot.Entry
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		body, err := getBody(fmt.Sprintf("%s/services/%s/%s", p.apiURL, ns, name))
		if err == nil && json.Unmarshal(body, &e) == nil && e.ReadyEndpoints == n {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("GET /services/%s/%s did not show %d ready endpoints within %s (last: %d)", ns, name, n, timeout,
		e.ReadyEndpoints)
}

// flipsAmidCountChanges changes the count Service's endpoints and right after flips the first Service's readiness
// (both in checker-0), amidFlips times, and returns each flip's time from the slice write to the SSE event.
func (b *bench) flipsAmidCountChanges(ctx context.Context, p *process) ([]time.Duration, error) {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := b.flipperFor(streamCtx, p.apiURL, b.small)
	if err != nil {
		return nil, err
	}
	var took []time.Duration
	for i := range amidFlips { // an even number of flips: the Service ends ready
		if err := b.setEndpoints(ctx, 4-i%2); err != nil {
			return nil, err
		}
		t0, err := f.flip(ctx)
		if err != nil {
			return nil, err
		}
		at, err := f.event(f.ready, 10*time.Second)
		if err != nil {
			return nil, err
		}
		took = append(took, at.Sub(t0))
		time.Sleep(countPace)
	}
	return took, nil
}
