package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// load sends GET url from `clients` concurrent keep-alive clients for d and returns requests/s and latencies.
func load(url string, clients int, d time.Duration, header http.Header) (float64, []time.Duration, error) {
	hc := insecureClient(clients)
	defer hc.CloseIdleConnections()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	begin := time.Now()
	stop := begin.Add(d)
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(stop) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				for k, v := range header {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
						err = fmt.Errorf("GET %s: %s", url, resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return float64(len(latencies)) / time.Since(begin).Seconds(), latencies, firstErr
}

// api measures GET /services at 1,000 Services against two references served the same way (TLS, HTTP/1.1,
// keep-alive): a server returning the same pre-built bytes (the practical limit), and the naive handler that
// lists every ServiceChecker from the manager's cache and JSON-encodes their statuses on each request.
func (b *bench) api(ctx context.Context) ([]figure, error) {
	resp, err := insecureClient(1).Get(b.apiURL + "/services")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	etag := resp.Header.Get("ETag")

	baseline := prebuilt(body)
	defer baseline.Close()
	reader := b.mgr.GetCache()
	naive := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var list v1alpha1.ServiceCheckerList
		if err := reader.List(r.Context(), &list); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var entries []snapshot.Entry
		for _, sc := range list.Items {
			for _, st := range sc.Status.ServiceStatuses {
				entries = append(entries, snapshot.Entry{Name: st.Name, Namespace: st.Namespace, Ready: st.Ready,
					Critical: st.Critical, ReadyEndpoints: st.ReadyEndpoints, Reason: st.Reason,
					Since: st.LastTransitionTime.Time, Checkers: []string{sc.Namespace + "/" + sc.Name}})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(entries)
	}))
	naive.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	naive.StartTLS()
	defer naive.Close()

	var figures []figure
	for _, clients := range []int{1, 16, 64} {
		var mgrRPS, baseRPS, naiveRPS, p50, p99 []float64
		for range b.reps {
			rps, lat, err := load(b.apiURL+"/services", clients, b.duration, nil)
			if err != nil {
				return nil, err
			}
			mgrRPS, p50, p99 = append(mgrRPS, rps), append(p50, ms(percentile(lat, 0.5))), append(p99, ms(percentile(lat, 0.99)))
			if rps, _, err = load(baseline.URL, clients, b.duration, nil); err != nil {
				return nil, err
			}
			baseRPS = append(baseRPS, rps)
			if rps, _, err = load(naive.URL, clients, b.duration, nil); err != nil {
				return nil, err
			}
			naiveRPS = append(naiveRPS, rps)
		}
		m, base, nv := median(mgrRPS), median(baseRPS), median(naiveRPS)
		figures = append(figures,
			figure{ID: fmt.Sprintf("api.throughput.%d_clients", clients),
				Name: fmt.Sprintf("GET /services, %d client(s): throughput", clients), Value: m, Unit: unitRPS, Runs: mgrRPS,
				Baseline: fmt.Sprintf("pre-built bytes %.0f req/s: %.2fx; naive %.0f req/s: %.1fx", base, m/base, nv, m/nv),
				Goal:     ">= 0.8x pre-built, >= 10x naive"},
			figure{ID: fmt.Sprintf("api.latency.%d_clients", clients),
				Name: fmt.Sprintf("GET /services, %d client(s): latency p50 / p99", clients), Value: median(p50),
				Unit: fmt.Sprintf("ms / %.2f ms", median(p99)), Runs: p50})
		step("GET /services with %d client(s): %.0f req/s (pre-built %.0f, naive %.0f)", clients, m, base, nv)
	}
	for _, v := range []struct {
		id, name string
		header   http.Header
	}{
		{"api.if_none_match", "If-None-Match (304)", http.Header{"If-None-Match": {etag}}},
		{"api.gzip", "Accept-Encoding: gzip", http.Header{"Accept-Encoding": {"gzip"}}},
	} {
		var rps []float64
		for range b.reps {
			r, _, err := load(b.apiURL+"/services", 16, b.duration, v.header)
			if err != nil {
				return nil, err
			}
			rps = append(rps, r)
		}
		figures = append(figures, figure{ID: v.id, Name: "GET /services, 16 clients, " + v.name, Value: median(rps), Unit: unitRPS, Runs: rps})
	}
	return figures, nil
}

// prebuilt is the reference server: the same TLS and HTTP/1.1 keep-alive as the manager's API, answering every
// request with the same pre-built bytes (the practical limit of serving a snapshot).
func prebuilt(body []byte) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	srv.StartTLS()
	return srv
}

// getBody returns the body of GET url.
func getBody(url string) ([]byte, error) {
	resp, err := insecureClient(1).Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// readyCount returns how many entries GET /services lists as ready, and how many it lists.
func readyCount(apiURL string) (ready, all int, err error) {
	body, err := getBody(apiURL + "/services")
	if err != nil {
		return 0, 0, err
	}
	var entries []snapshot.Entry
	if err := json.Unmarshal(body, &entries); err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if e.Ready {
			ready++
		}
	}
	return ready, len(entries), nil
}
