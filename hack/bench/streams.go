package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	// streamCount concurrent SSE streams on one replica: --api-max-streams' default, as deployed.
	streamCount = 1000
	// streamFlips readiness flips per run, an even number: the Service ends ready.
	streamFlips = 40
)

// follower is one SSE client of the streams section: it follows the readiness of one Service in `event: services`
// and remembers when it last changed. (test/faults has a fuller stream client of its own, in a _test package.)
type follower struct {
	pattern []byte // `"name":"<name>","namespace":"<ns>","ready":` as the entries are encoded

	mu    sync.Mutex
	known bool
	ready bool
	at    time.Time // when ready last changed
	err   error     // why the stream ended
}

func (s *follower) read(body io.ReadCloser) {
	defer func() { _ = body.Close() }()
	in := bufio.NewReaderSize(body, 16<<10) // checker-0's 10 Services fit: no copy per event
	event := ""
	for {
		line, err := in.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a longer data line than expected: gather it whole
			start := slices.Clone(line)
			rest, err2 := in.ReadBytes('\n')
			line, err = append(start, rest...), err2
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(bytes.TrimSpace(line[len("event: "):]))
		case bytes.HasPrefix(line, []byte("data: ")) && event == "services":
			if i := bytes.Index(line, s.pattern); i >= 0 {
				ready := bytes.HasPrefix(line[i+len(s.pattern):], []byte("true"))
				now := time.Now()
				s.mu.Lock()
				if !s.known || s.ready != ready {
					s.known, s.ready, s.at = true, ready, now
				}
				s.mu.Unlock()
			}
		}
	}
}

// state returns whether the stream shows the Service's readiness as ready, and since when.
func (s *follower) state() (known, ready bool, at time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known, s.ready, s.at, s.err
}

// openFollowers opens n streams of url (each its own TLS connection, as n browsers would) following Service
// ns/name, and waits until every one has shown it ready.
func openFollowers(ctx context.Context, url, ns, name string, n int) ([]*follower, error) {
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a benchmark of a self-signed local server
		ForceAttemptHTTP2: false, DisableCompression: true, MaxIdleConnsPerHost: -1,
	}}
	streams := make([]*follower, n)
	err := testutil.Parallel(n, func(i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/event-stream")
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("open stream %d of %s: %w", i, url, err)
		}
		if resp.StatusCode != http.StatusOK {
			_ = resp.Body.Close()
			return fmt.Errorf("open stream %d of %s: %s", i, url, resp.Status)
		}
		s := &follower{pattern: fmt.Appendf(nil, `"name":%q,"namespace":%q,"ready":`, name, ns)}
		streams[i] = s
		go s.read(resp.Body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	_, err = allShow(streams, true, 30*time.Second)
	return streams, err
}

// allShow waits until every stream shows the Service as ready (or not) and returns when each saw the change.
func allShow(streams []*follower, ready bool, timeout time.Duration) ([]time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		at := make([]time.Time, 0, len(streams))
		for i, s := range streams {
			known, r, when, err := s.state()
			if err != nil {
				return nil, fmt.Errorf("stream %d ended: %w", i, err)
			}
			if !known || r != ready {
				break
			}
			at = append(at, when)
		}
		if len(at) == len(streams) {
			return at, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d streams showed ready=%t within %s", len(at), len(streams), ready, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// streams runs bin/manager over the 1,000 Services in 100 ServiceCheckers with 1,000 SSE streams over TLS, each
// following checker-0 (a status page's stream, ?checker=), and measures the time from a flip being visible in
// GET /services/{ns}/{name} to its arrival on every stream, and the RSS the streams cost.
func (b *bench) streams(ctx context.Context) ([]figure, error) {
	b.stopInProcess()
	if err := b.small.setWatched(ctx, b.admin, 100, 1000); err != nil {
		return nil, err
	}
	ns, name := b.small.namespace(0), b.small.service(0)
	var every, each, maxEvery, fromWrite, perStream, without, with []float64
	profiling, err := b.managerHasFlag(pprofFlag)
	if err != nil {
		return nil, err
	}
	for rep := range b.reps {
		var extra []string
		pprofURL := ""
		if profiling && rep == 0 { // what the streams' memory is: a heap profile with them open
			addr := testutil.FreeAddr()
			extra, pprofURL = []string{pprofFlag + "=" + addr}, "http://"+addr
		}
		p, _, err := b.startReady(1000, extra...)
		if err != nil {
			return nil, err
		}
		run, err := b.streamRun(ctx, p, ns, name, pprofURL)
		p.stop()
		if err != nil {
			return nil, err
		}
		every, each, maxEvery = append(every, run.everyP99), append(each, run.eachP50), append(maxEvery, run.everyMax)
		fromWrite = append(fromWrite, run.fromWriteP99)
		perStream = append(perStream, (run.rssWith-run.rssWithout)*1024/streamCount)
		without, with = append(without, run.rssWithout), append(with, run.rssWith)
	}
	step("%d streams: flip visible in GET -> every stream p99 %.1f ms; RSS %.1f -> %.1f MiB, %.1f KiB per stream",
		streamCount, median(every), median(without), median(with), median(perStream))
	return []figure{
		{ID: "streams.flip_to_every_stream", Name: fmt.Sprintf("%d streams over TLS on one replica: flip visible in GET "+
			"-> received by every stream (%d flips, p99 over flips)", streamCount, streamFlips),
			Value: median(every), Unit: fmt.Sprintf("ms p99 / %.1f ms max; each stream %.1f ms p50", median(maxEvery), median(each)),
			Baseline: fmt.Sprintf("slice write -> every stream: %.1f ms p99", median(fromWrite)), Runs: every, Goal: "<= 100 ms"},
		{ID: "streams.rss_per_stream", Name: fmt.Sprintf("%d streams over TLS: RSS per stream (RSS with %d streams "+
			"minus without, / %d)", streamCount, streamCount, streamCount), Value: median(perStream), Unit: "KiB", Runs: perStream,
			Baseline: fmt.Sprintf("RSS %.1f MiB without, %.1f MiB with", median(without), median(with)),
			Goal:     "<= 20 KiB (a stretch over TLS)"},
	}, nil
}

type streamRun struct {
	everyP99, everyMax, eachP50 float64 // ms, from the flip visible in GET
	fromWriteP99                float64 // ms, from the slice write to every stream
	rssWithout, rssWith         float64 // MiB
}

// streamRun measures one bin/manager; with pprofURL set it also saves a heap profile with the streams open.
func (b *bench) streamRun(ctx context.Context, p *process, ns, name, pprofURL string) (streamRun, error) {
	var run streamRun
	time.Sleep(3 * time.Second) // settle after start-up
	var err error
	if run.rssWithout, err = p.rss(); err != nil {
		return run, err
	}
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	streams, err := openFollowers(streamCtx, fmt.Sprintf("%s/events?checker=%s/checker-0", p.apiURL, ns), ns, name, streamCount)
	if err != nil {
		return run, err
	}
	time.Sleep(3 * time.Second) // the handshakes' garbage collected
	if run.rssWith, err = p.rss(); err != nil {
		return run, err
	}
	if pprofURL != "" {
		label := fmt.Sprintf("%d-streams", streamCount)
		if err := heapProfile(pprofURL, filepath.Join(b.out, "profiles"), label,
			fmt.Sprintf("%d SSE streams over TLS open", streamCount)); err != nil {
			warnUnmeasured("profile with "+label, err)
		}
	}
	f := b.quietFlipper(p.apiURL, b.small) // no stream of its own: the 1,000 are the replica's limit
	var every, each, fromWrite []time.Duration
	for range streamFlips {
		written, err := f.flip(ctx)
		if err != nil {
			return run, err
		}
		visible, err := f.visible(f.ready, 10*time.Second)
		if err != nil {
			return run, err
		}
		at, err := allShow(streams, f.ready, 10*time.Second)
		if err != nil {
			return run, err
		}
		last := time.Duration(0)
		for _, t := range at {
			d := max(t.Sub(visible), 0) // a stream may see it before the GET poll does
			each = append(each, d)
			last = max(last, d)
		}
		every = append(every, last)
		fromWrite = append(fromWrite, slices.MaxFunc(at, time.Time.Compare).Sub(written))
	}
	run.fromWriteP99 = ms(percentile(fromWrite, 0.99))
	run.everyP99, run.everyMax, run.eachP50 = ms(percentile(every, 0.99)), ms(percentile(every, 1)), ms(percentile(each, 0.5))
	return run, nil
}
