package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

const (
	flips      = 200
	unitWrites = "writes"
	unitRPS    = "req/s"
)

// flipper flips the readiness of one watched Service's EndpointSlice and waits until the API shows it.
type flipper struct {
	b      *bench
	apiURL string
	ns     string
	name   string
	ready  bool
	events chan eventSeen // from the SSE stream
}

type eventSeen struct {
	ready bool
	at    time.Time
}

func (b *bench) newFlipper(ctx context.Context) (*flipper, error) {
	return b.flipperFor(ctx, b.apiURL, b.small)
}

// quietFlipper flips the first Service of world w (ready when it starts) and reads it only through GET; its event
// method waits forever.
func (b *bench) quietFlipper(apiURL string, w world) *flipper {
	return &flipper{b: b, apiURL: apiURL, ns: w.namespace(0), name: w.service(0), ready: true, events: make(chan eventSeen)}
}

// flipperFor flips the first Service of world w, watched by w's checker-0, and follows the API at apiURL.
func (b *bench) flipperFor(ctx context.Context, apiURL string, w world) (*flipper, error) {
	f := b.quietFlipper(apiURL, w)
	f.events = make(chan eventSeen, 64)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/events?checker=%s/checker-0", apiURL, f.ns), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	hc := insecureClient(1)
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	go func() {
		defer func() { _ = resp.Body.Close() }()
		scanner := bufio.NewScanner(resp.Body)
		scanner.Buffer(make([]byte, 1<<20), 1<<24)
		for scanner.Scan() {
			data, ok := strings.CutPrefix(scanner.Text(), "data: ")
			if !ok {
				continue
			}
			var entries []snapshot.Entry
			if json.Unmarshal([]byte(data), &entries) != nil {
				continue
			}
			for _, e := range entries {
				if e.Namespace == f.ns && e.Name == f.name {
					select { // never block the stream on a reader that stopped listening
					case f.events <- eventSeen{ready: e.Ready, at: time.Now()}:
					default:
					}
				}
			}
		}
	}()
	return f, nil
}

// flip writes the slice with the opposite readiness; it returns the write's time (just before the request).
func (f *flipper) flip(ctx context.Context) (time.Time, error) {
	s := &discoveryv1.EndpointSlice{}
	if err := f.b.admin.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: f.name + "-1"}, s); err != nil {
		return time.Time{}, err
	}
	f.ready = !f.ready
	for i := range s.Endpoints {
		s.Endpoints[i].Conditions.Ready = ptr.To(f.ready)
	}
	t0 := time.Now()
	return t0, f.b.admin.Update(ctx, s)
}

// visible polls GET /services/{ns}/{name} (the same snapshot as /services, a smaller answer) until it shows ready.
func (f *flipper) visible(ready bool, timeout time.Duration) (time.Time, error) {
	hc := insecureClient(1)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(fmt.Sprintf("%s/services/%s/%s", f.apiURL, f.ns, f.name))
		if err != nil {
			return time.Time{}, err
		}
		var e snapshot.Entry
		err = json.NewDecoder(resp.Body).Decode(&e)
		_ = resp.Body.Close()
		if err == nil && e.Ready == ready {
			return time.Now(), nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return time.Time{}, fmt.Errorf("%s/%s not ready=%t within %s", f.ns, f.name, ready, timeout)
}

// event waits for the SSE event that shows ready.
func (f *flipper) event(ready bool, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		select {
		case e := <-f.events:
			if e.ready == ready {
				return e.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("no event with %s/%s ready=%t within %s", f.ns, f.name, ready, timeout)
		}
	}
}

// freshness flips one Service's readiness 200 times (1,000 Services present) and measures the time from the
// slice write to the change in GET /services and to the SSE event.
func (b *bench) freshness(ctx context.Context) ([]figure, error) {
	type stats struct{ p50, p99, max []float64 }
	var get, sse stats
	add := func(s *stats, d []time.Duration) {
		s.p50 = append(s.p50, ms(percentile(d, 0.5)))
		s.p99 = append(s.p99, ms(percentile(d, 0.99)))
		s.max = append(s.max, ms(percentile(d, 1)))
	}
	for range b.reps {
		streamCtx, cancel := context.WithCancel(ctx)
		f, err := b.newFlipper(streamCtx)
		if err != nil {
			cancel()
			return nil, err
		}
		var toGet, toEvent []time.Duration
		for range flips {
			t0, err := f.flip(ctx)
			if err == nil {
				var seen, ev time.Time
				if seen, err = f.visible(f.ready, 5*time.Second); err == nil {
					if ev, err = f.event(f.ready, 5*time.Second); err == nil {
						toGet, toEvent = append(toGet, seen.Sub(t0)), append(toEvent, ev.Sub(t0))
					}
				}
			}
			if err != nil {
				cancel()
				return nil, err
			}
		}
		cancel()
		add(&get, toGet)
		add(&sse, toEvent)
	}
	row := func(id, name string, s stats) figure {
		return figure{ID: id, Name: name, Value: median(s.p50),
			Unit: fmt.Sprintf("ms p50 / %.1f ms p99 / %.1f ms max", median(s.p99), median(s.max)),
			Goal: "p99 <= 50 ms", Runs: s.p99}
	}
	step("freshness over %d flips x %d: GET p99 %.1f ms, SSE p99 %.1f ms", flips, b.reps, median(get.p99), median(sse.p99))
	return []figure{
		row("freshness.get", fmt.Sprintf("freshness: slice write -> GET /services/{ns}/{name} (%d flips)", flips), get),
		row("freshness.sse", fmt.Sprintf("freshness: slice write -> SSE event on /events (%d flips)", flips), sse),
	}, nil
}

// statusWrites counts the manager's ServiceChecker status writes for 200 readiness flips and for 200 slice
// updates that leave readiness as it is.
func (b *bench) statusWrites(ctx context.Context) ([]figure, error) {
	f, err := b.newFlipper(ctx)
	if err != nil {
		return nil, err
	}
	b.writes.status.Store(0)
	b.writes.events.Store(0)
	for range flips {
		if _, err := f.flip(ctx); err != nil {
			return nil, err
		}
		if _, err := f.event(f.ready, 5*time.Second); err != nil {
			return nil, err
		}
	}
	time.Sleep(time.Second)
	flipWrites, flipEvents := b.writes.status.Load(), b.writes.events.Load()

	b.writes.status.Store(0)
	for i := range flips {
		s := &discoveryv1.EndpointSlice{}
		if err := b.admin.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: f.name + "-1"}, s); err != nil {
			return nil, err
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations["bench.mamrezb.com/touch"] = fmt.Sprint(i) // a change that is not readiness
		if err := b.admin.Update(ctx, s); err != nil {
			return nil, err
		}
	}
	time.Sleep(2 * time.Second)
	sameWrites := b.writes.status.Load()
	step("status writes: %d for %d flips (%d Events), %d for %d unchanged-readiness updates",
		flipWrites, flips, flipEvents, sameWrites, flips)
	return []figure{
		{ID: "writes.readiness_flips", Name: fmt.Sprintf("status writes for %d readiness flips", flips),
			Value: float64(flipWrites), Unit: unitWrites,
			Baseline: fmt.Sprintf("Events recorded: %d (counted apart)", flipEvents), Goal: fmt.Sprintf("exactly %d", flips),
			Runs: []float64{float64(flipWrites)}},
		{ID: "writes.same_readiness", Name: fmt.Sprintf("status writes for %d slice updates keeping readiness", flips),
			Value: float64(sameWrites),
			Unit:  unitWrites, Goal: "0", Runs: []float64{float64(sameWrites)}},
	}, nil
}
