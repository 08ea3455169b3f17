package httpapi

import (
	"bufio"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type svc struct {
	ns, name        string
	ready, critical bool
}

// publish builds a snapshot from one ServiceChecker per distinct checker name and publishes it.
func publish(t *testing.T, store *snapshot.Store, checkers map[string][]svc) {
	t.Helper()
	list := make([]v1alpha1.ServiceChecker, 0, len(checkers))
	for key, services := range checkers {
		ns, name, _ := strings.Cut(key, "/")
		sc := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		for _, s := range services {
			st := v1alpha1.ServiceStatus{Namespace: s.ns, Name: s.name, Ready: s.ready, Critical: s.critical,
				Reason: v1alpha1.ReasonReady, LastTransitionTime: metav1.NewTime(t0)}
			if !s.ready {
				st.Reason = v1alpha1.ReasonNoReadyEndpoints
			} else {
				st.ReadyEndpoints = 2
			}
			sc.Status.ServiceStatuses = append(sc.Status.ServiceStatuses, st)
		}
		list = append(list, sc)
	}
	snap, err := snapshot.Build(list, store.NextVersion(), t0)
	if err != nil {
		t.Fatal(err)
	}
	store.Publish(snap)
}

var shop = map[string][]svc{
	"shop/storefront": {{"shop", "checkout", true, true}, {"shop", "search", false, false}},
	"ops/oncall":      {{"data", "db", false, true}, {"shop", "checkout", true, false}},
}

// newServer starts the handler on a real TLS listener.
func newServer(t *testing.T, opts HandlerOptions) (*httptest.Server, *snapshot.Store, *handler) {
	t.Helper()
	store := snapshot.NewStore()
	h := NewHandler(store, opts).(*handler)
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv, store, h
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, srv *httptest.Server, method, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := srv.Client()
	client.Transport.(*http.Transport).DisableCompression = true // see the raw Content-Encoding
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(body)}
}

func keys(t *testing.T, body string) []string {
	t.Helper()
	var entries []snapshot.Entry
	if err := json.Unmarshal([]byte(body), &entries); err != nil {
		t.Fatalf("body is not a JSON array of entries: %v: %s", err, body)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Key())
	}
	return out
}

func TestUnsyncedReplicaNeverAnswersAllClear(t *testing.T) {
	srv, _, _ := newServer(t, HandlerOptions{})
	for _, path := range []string{"/services", "/status", "/events", "/services/shop/checkout"} {
		r := do(t, srv, http.MethodGet, path)
		if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
			!strings.Contains(r.body, `"error"`) {
			t.Errorf("GET %s before sync = %d %q (Retry-After %q), want 503 JSON error with Retry-After",
				path, r.code, r.body, r.header.Get("Retry-After"))
		}
	}
}

func TestServicesAndFilters(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{})
	publish(t, store, shop)

	r := do(t, srv, http.MethodGet, "/services")
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/json" ||
		r.header.Get("Cache-Control") != "no-cache" || r.header.Get("ETag") == "" {
		t.Fatalf("GET /services = %d %v", r.code, r.header)
	}
	if got := strings.Join(keys(t, r.body), " "); got != "data/db shop/checkout shop/search" {
		t.Errorf("GET /services keys = %s, want sorted by namespace then name", got)
	}
	if !strings.Contains(r.body, `"checkers":["ops/oncall","shop/storefront"]`) ||
		!strings.Contains(r.body, `"ready":false`) || !strings.Contains(r.body, `"critical":false`) {
		t.Errorf("GET /services body lacks merged checkers or explicit false booleans: %s", r.body)
	}

	tests := []struct{ query, want string }{
		{"namespace=shop", "shop/checkout shop/search"},
		{"namespace=data,shop", "data/db shop/checkout shop/search"},
		{"namespace=nowhere", ""},
		{"critical=true", "data/db shop/checkout"},
		{"critical=false", "shop/search"},
		{"ready=false", "data/db shop/search"},
		{"ready=true&critical=true", "shop/checkout"},
		{"checker=ops/oncall", "data/db shop/checkout"},
		{"checker=shop/storefront&ready=false", "shop/search"},
		{"_=1732550000", "data/db shop/checkout shop/search"}, // the cache buster _ is ignored
		{"service=checkout,data/db", "data/db shop/checkout"},
	}
	for _, tt := range tests {
		r := do(t, srv, http.MethodGet, "/services?"+tt.query)
		if got := strings.Join(keys(t, r.body), " "); r.code != http.StatusOK || got != tt.want {
			t.Errorf("GET /services?%s = %d %q, want 200 %q", tt.query, r.code, got, tt.want)
		}
	}

	bad := []struct{ query, param string }{
		{"critical=yes", "critical"},
		{"ready=1", "ready"},
		{"namespace=Shop", "namespace"},
		{"namespace=shop,", "namespace"},
		{"checker=oncall", "checker"},
		{"checker=ops/", "checker"},
		{"critical=true&critical=false", "critical"},
		{"checkers=shop/storefront", `unknown parameter "checkers"; the accepted ones are checker, namespace, service`},
		{"nmespace=shop", "nmespace"},
	}
	for _, tt := range bad {
		r := do(t, srv, http.MethodGet, "/services?"+tt.query)
		var body map[string]string
		_ = json.Unmarshal([]byte(r.body), &body)
		if r.code != http.StatusBadRequest || !strings.Contains(body["error"], tt.param) {
			t.Errorf("GET /services?%s = %d %s, want 400 with an error naming %s", tt.query, r.code, r.body, tt.param)
		}
	}
}

// The scenario of issue #14: another team's stricter ServiceChecker (or one without status yet) lists the same
// Service; a frontend asking with checker= gets its own ServiceChecker's answer, and a typo gets 404, never an all
// clear.
func TestStatusPerCheckerIsThatCheckersOwn(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{})
	publish(t, store, map[string][]svc{
		"shop/storefront": {{"shop", "checkout", true, true}},
		"other/strict":    {{"shop", "checkout", false, true}},
	})

	for path, want := range map[string]string{
		"/status?checker=shop/storefront": `{"maintenance":false,"criticalNotReady":[],"pending":[],"services":1,"ready":1,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`,
		"/status?checker=other/strict":    `{"maintenance":true,"criticalNotReady":["shop/checkout"],"pending":[],"services":1,"ready":0,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`,
		"/status?namespace=shop":          `{"maintenance":true,"criticalNotReady":["shop/checkout"],"pending":[],"services":1,"ready":0,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`,
		"/status":                         `{"maintenance":true,"criticalNotReady":["shop/checkout"],"pending":[],"services":1,"ready":0,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`,
	} {
		if r := do(t, srv, http.MethodGet, path); r.code != http.StatusOK || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.code, r.body, want)
		}
	}
	r := do(t, srv, http.MethodGet, "/services?checker=shop/storefront")
	if r.code != http.StatusOK || !strings.Contains(r.body, `"ready":true`) ||
		!strings.Contains(r.body, `"checkers":["shop/storefront"]`) {
		t.Errorf("GET /services?checker=shop/storefront = %d %s, want storefront's own entry, never merged", r.code, r.body)
	}
	r = do(t, srv, http.MethodGet, "/services/shop/checkout?checker=shop/storefront")
	if r.code != http.StatusOK || !strings.Contains(r.body, `"ready":true`) {
		t.Errorf("GET /services/shop/checkout?checker=shop/storefront = %d %s, want storefront's ready entry", r.code, r.body)
	}
	for _, path := range []string{"/status?checker=shop/storefrnt", "/services?checker=shop/storefrnt",
		"/events?checker=shop/storefrnt", "/services/shop/checkout?checker=shop/storefrnt",
		"/services/shop/search?checker=shop/storefront"} {
		r := do(t, srv, http.MethodGet, path)
		if r.code != http.StatusNotFound || !strings.Contains(r.body, `"error"`) {
			t.Errorf("GET %s = %d %s, want 404 with a JSON error", path, r.code, r.body)
		}
	}
	if r := do(t, srv, http.MethodGet, "/services/shop/checkout?namespace=shop"); r.code != http.StatusBadRequest ||
		!strings.Contains(r.body, "the accepted ones are checker (and _") {
		t.Errorf("GET /services/shop/checkout?namespace=shop = %d %s, want 400 naming checker as the one accepted", r.code, r.body)
	}
	for _, path := range []string{"/status?checker=", "/services?checker=&_=1", "/events?checker="} {
		if r := do(t, srv, http.MethodGet, path); r.code != http.StatusBadRequest || !strings.Contains(r.body, "checker is empty") {
			t.Errorf("GET %s = %d %s, want 400: an unset template variable must not ask about the whole cluster", path, r.code, r.body)
		}
	}

	// A stream whose ServiceChecker is deleted says so and ends, rather than keeping the page's last verdict.
	_, events := openStream(t, srv, "/events?checker=shop/storefront")
	events.skipHeartbeats(t) // services
	events.skipHeartbeats(t) // status
	publish(t, store, map[string][]svc{"other/strict": {{"shop", "checkout", false, true}}})
	if got := events.skipHeartbeats(t); !strings.HasPrefix(got, "event: error\n") ||
		!strings.Contains(got, "ServiceChecker shop/storefront does not exist") {
		t.Errorf("stream after its ServiceChecker was deleted = %q, want an error event", got)
	}
	if rest, err := io.ReadAll(events.r); err != nil || len(rest) != 0 {
		t.Errorf("the stream went on after the error event: %q %v", rest, err)
	}
}

func TestOneServiceStatusAndErrors(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{})
	publish(t, store, shop)

	r := do(t, srv, http.MethodGet, "/services/shop/checkout")
	var e snapshot.Entry
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.code != http.StatusOK || e.Key() != "shop/checkout" ||
		!e.Critical || !e.Ready || e.ReadyEndpoints != 2 || !e.Since.Equal(t0) {
		t.Errorf("GET /services/shop/checkout = %d %s", r.code, r.body)
	}

	r = do(t, srv, http.MethodGet, "/status")
	want := `{"maintenance":true,"criticalNotReady":["data/db"],"pending":[],"services":3,"ready":1,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`
	if r.code != http.StatusOK || r.body != want {
		t.Errorf("GET /status = %d %s, want %s", r.code, r.body, want)
	}

	r = do(t, srv, http.MethodGet, "/status?namespace=shop")
	want = `{"maintenance":false,"criticalNotReady":[],"pending":[],"services":2,"ready":1,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`
	if r.code != http.StatusOK || r.body != want {
		t.Errorf("GET /status?namespace=shop = %d %s, want %s (data/db is another team's)", r.code, r.body, want)
	}
	if r := do(t, srv, http.MethodGet, "/status?checker=ops/oncall"); !strings.Contains(r.body, `"maintenance":true`) {
		t.Errorf("GET /status?checker=ops/oncall = %s, want maintenance (its critical data/db is down)", r.body)
	}

	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/services/shop/nothing", http.StatusNotFound},
		{http.MethodGet, "/services/shop", http.StatusNotFound},
		{http.MethodGet, "/services/a/b/c", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/metrics", http.StatusNotFound},
		{http.MethodPost, "/services", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/services/shop/checkout", http.StatusMethodNotAllowed},
		{http.MethodPut, "/status", http.StatusMethodNotAllowed},
	} {
		r := do(t, srv, tt.method, tt.path)
		var body map[string]string
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.code != tt.code || body["error"] == "" {
			t.Errorf("%s %s = %d %q, want %d with a JSON error", tt.method, tt.path, r.code, r.body, tt.code)
		}
		if tt.code == http.StatusMethodNotAllowed && r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("%s %s Allow = %q", tt.method, tt.path, r.header.Get("Allow"))
		}
	}

	r = do(t, srv, http.MethodHead, "/services")
	if r.code != http.StatusOK || r.body != "" || r.header.Get("ETag") == "" {
		t.Errorf("HEAD /services = %d %q", r.code, r.body)
	}
}

func TestETagAndGzip(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{})
	publish(t, store, shop)

	first := do(t, srv, http.MethodGet, "/services")
	etag := first.header.Get("ETag")
	for _, path := range []string{"/services", "/services?critical=true", "/services/shop/checkout"} {
		if r := do(t, srv, http.MethodGet, path, "If-None-Match", etag); r.code != http.StatusNotModified || r.body != "" {
			t.Errorf("GET %s with matching If-None-Match = %d %q, want 304", path, r.code, r.body)
		}
	}
	status := do(t, srv, http.MethodGet, "/status")
	if r := do(t, srv, http.MethodGet, "/status", "If-None-Match", status.header.Get("ETag")); r.code != http.StatusNotModified {
		t.Errorf("GET /status with its ETag = %d, want 304", r.code)
	}

	// /status has its own ETag, from its body: a change of staleness alone is never hidden by a 304.
	store.SetFreshness(true, t0)
	if r := do(t, srv, http.MethodGet, "/status", "If-None-Match", status.header.Get("ETag")); r.code != http.StatusOK ||
		!strings.Contains(r.body, `"stale":true,"staleSince":"2026-03-01T10:00:00Z"`) {
		t.Errorf("GET /status with the fresh ETag while stale = %d %s, want 200 with stale true", r.code, r.body)
	}
	if r := do(t, srv, http.MethodGet, "/services", "If-None-Match", etag); r.code != http.StatusNotModified {
		t.Errorf("GET /services while stale = %d, want 304: the last data is served unchanged", r.code)
	}
	store.SetFreshness(false, t0.Add(time.Minute))
	if r := do(t, srv, http.MethodGet, "/status"); !strings.HasSuffix(r.body, `"stale":false}`) {
		t.Errorf("GET /status after contact came back = %s, want stale false and no staleSince", r.body)
	}

	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", false, true}}})
	if r := do(t, srv, http.MethodGet, "/services", "If-None-Match", etag); r.code != http.StatusOK || r.header.Get("ETag") == etag {
		t.Errorf("GET /services with a stale ETag = %d (ETag %s), want 200 with a new ETag", r.code, r.header.Get("ETag"))
	}

	plain := do(t, srv, http.MethodGet, "/services")
	for _, accept := range []string{"gzip", "br, gzip;q=0.8", "gzip, deflate"} {
		r := do(t, srv, http.MethodGet, "/services", "Accept-Encoding", accept)
		if r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding = %q, want gzip", accept, r.header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, _ := io.ReadAll(zr)
		if string(unzipped) != plain.body {
			t.Errorf("gzip body decodes to %s, want %s", unzipped, plain.body)
		}
	}
	if r := do(t, srv, http.MethodGet, "/services", "Accept-Encoding", "gzip;q=0"); r.header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
}

func TestCORS(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{CORSAllowedOrigins: []string{"*"}})
	publish(t, store, shop)
	r := do(t, srv, http.MethodOptions, "/services", "Origin", "https://shop.example.com",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "if-none-match")
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "GET") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Errorf("preflight = %d %v", r.code, r.header)
	}
	if r := do(t, srv, http.MethodGet, "/services", "Origin", "https://shop.example.com"); r.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("GET with Origin: CORS headers %v", r.header)
	}

	strict, store2, _ := newServer(t, HandlerOptions{CORSAllowedOrigins: []string{"https://shop.example.com"}})
	publish(t, store2, shop)
	if r := do(t, strict, http.MethodGet, "/services", "Origin", "https://shop.example.com"); r.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Errorf("allowed origin not echoed: %v", r.header)
	}
	if r := do(t, strict, http.MethodGet, "/services", "Origin", "https://evil.example.com"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}

// sseReader reads events from an open stream.
type sseReader struct{ r *bufio.Reader }

// next returns the next event (or heartbeat comment) as its raw lines.
func (s sseReader) next(t *testing.T) string {
	t.Helper()
	var lines []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read event stream: %v (so far %q)", err, lines)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" {
			return strings.Join(lines, "\n")
		}
		lines = append(lines, line)
	}
}

func openStream(t *testing.T, srv *httptest.Server, path string, header ...string) (*http.Response, sseReader) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp, sseReader{bufio.NewReader(resp.Body)}
}

// skipHeartbeats returns the next event that is not a heartbeat comment.
func (r sseReader) skipHeartbeats(t *testing.T) string {
	t.Helper()
	for {
		if e := r.next(t); !strings.HasPrefix(e, ":") {
			return e
		}
	}
}

func TestEventStream(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{SSEHeartbeat: 100 * time.Millisecond})
	publish(t, store, shop)

	resp, events := openStream(t, srv, "/services?namespace=shop", "Accept", "text/event-stream")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %v", resp.StatusCode, resp.Header)
	}
	first := events.next(t)
	if !strings.HasPrefix(first, "id: 1\nevent: services\ndata: [") || strings.Contains(first, "data/db") {
		t.Fatalf("first event = %q, want id 1 with the filtered list", first)
	}
	want := `event: status` + "\n" + `data: {"maintenance":false,"criticalNotReady":[],"pending":[],"services":2,"ready":1,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}`
	if got := events.next(t); got != want {
		t.Fatalf("second event = %q, want the /status answer of the same filters %q", got, want)
	}

	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", false, true}}})
	second := events.skipHeartbeats(t)
	if !strings.HasPrefix(second, "id: 2\nevent: services\n") || !strings.Contains(second, `"ready":false`) {
		t.Errorf("event after a change = %q", second)
	}
	if got := events.skipHeartbeats(t); !strings.HasPrefix(got, "event: status\n") ||
		!strings.Contains(got, `"maintenance":true`) {
		t.Errorf("status event after a change = %q", got)
	}
	if hb := events.next(t); hb != ": heartbeat" {
		t.Errorf("idle stream sent %q, want a heartbeat comment", hb)
	}

	// Staleness alone changes the status, not the list.
	lastContact := time.Date(2026, 3, 1, 9, 59, 0, 0, time.UTC)
	store.SetFreshness(true, lastContact)
	if got := events.skipHeartbeats(t); !strings.HasPrefix(got, "event: status\n") ||
		!strings.Contains(got, `"stale":true,"staleSince":"2026-03-01T09:59:00Z"`) {
		t.Errorf("event after contact was lost = %q, want a status event with stale and staleSince", got)
	}
	store.SetFreshness(false, lastContact.Add(time.Minute))
	if got := events.skipHeartbeats(t); !strings.HasPrefix(got, "event: status\n") ||
		!strings.Contains(got, `"stale":false}`) {
		t.Errorf("event after contact came back = %q, want a status event with stale false", got)
	}

	// /events is the same stream without the Accept header.
	if _, events := openStream(t, srv, "/events"); !strings.Contains(events.next(t), "event: services") {
		t.Error("/events did not start with a services event")
	}
}

// events=status,changed is the status page's stream: no list, only its content tag, whose size does not grow with
// the cluster; the tag is the one a replica with the same data computes.
func TestEventStreamWithoutTheList(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{SSEHeartbeat: time.Hour})
	publish(t, store, shop)
	_, events := openStream(t, srv, "/events?namespace=shop&events=status,changed")
	view, err := store.Current().SelectEncoded(selection.Selection{Namespaces: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := events.next(t), "id: 1\nevent: changed\ndata: "+snapshot.ContentTag(view.JSON); got != want {
		t.Errorf("first event = %q, want %q", got, want)
	}
	if got := events.next(t); !strings.HasPrefix(got, "event: status\n") {
		t.Errorf("second event = %q, want status", got)
	}
	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", false, true}}})
	if got := events.next(t); !strings.HasPrefix(got, "id: 2\nevent: changed\ndata: W/\"") {
		t.Errorf("event after a change = %q, want changed", got)
	}
	if got := events.next(t); !strings.Contains(got, `"maintenance":true`) {
		t.Errorf("status after a change = %q", got)
	}

	_, only := openStream(t, srv, "/events?events=status")
	if got := only.next(t); !strings.HasPrefix(got, "event: status\n") {
		t.Errorf("events=status sent %q first", got)
	}
	if r := do(t, srv, http.MethodGet, "/status?events=status"); r.code != http.StatusBadRequest {
		t.Errorf("/status?events=status = %d, want 400: events= belongs to /events", r.code)
	}
	for _, q := range []string{"events=", "events=services,nope", "events=status&events=changed"} {
		if r := do(t, srv, http.MethodGet, "/events?"+q); r.code != http.StatusBadRequest ||
			!strings.Contains(r.body, "events=status,changed") {
			t.Errorf("/events?%s = %d %s, want 400 naming the event types", q, r.code, r.body)
		}
	}
}

func TestEventStreamLimit(t *testing.T) {
	srv, store, h := newServer(t, HandlerOptions{MaxStreams: 1})
	publish(t, store, shop)
	_, events := openStream(t, srv, "/events")
	events.next(t)
	r := do(t, srv, http.MethodGet, "/events")
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("stream beyond the limit = %d %v, want 503 with Retry-After", r.code, r.header)
	}
	if n := h.streams.Load(); n != 1 {
		t.Errorf("open streams = %d, want 1", n)
	}
}

// A panic after the status line went out must close the connection, never append a second answer.
func TestPanicAfterHeadersClosesTheConnection(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{SSEHeartbeat: time.Hour})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // net/http logs the aborted handler
	publish(t, store, shop)
	_, events := openStream(t, srv, "/events")
	if !strings.HasPrefix(events.next(t), "id: 1") {
		t.Fatal("no first event")
	}
	store.Publish(nil) // a bug: the stream dereferences a nil snapshot after its headers went out
	rest, err := io.ReadAll(events.r)
	if err == nil {
		t.Errorf("the stream ended cleanly after a panic; want the connection cut")
	}
	if strings.Contains(string(rest), `"error"`) || strings.Contains(string(rest), "500") {
		t.Errorf("a second answer was written into the stream: %q", rest)
	}
}

func TestSlowStreamClientIsDisconnected(t *testing.T) {
	srv, store, h := newServer(t, HandlerOptions{WriteTimeout: 200 * time.Millisecond, SSEHeartbeat: 50 * time.Millisecond})
	big := map[string][]svc{}
	for i := range 3000 {
		big["shop/c"] = append(big["shop/c"], svc{"shop", fmt.Sprintf("service-with-a-long-name-%05d", i), i%2 == 0, true})
	}
	publish(t, store, big)

	// A client that sends its request and never reads.
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}

	// A healthy client on the same server keeps receiving.
	_, healthy := openStream(t, srv, "/events?ready=false&critical=true")
	healthy.next(t)
	received := 0

	deadline := time.Now().Add(10 * time.Second)
	for i := 0; h.streams.Load() > 1; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the stuck client still holds a stream after 10s (%d open)", h.streams.Load())
		}
		big["shop/c"][0].ready = i%2 == 0
		publish(t, store, big)
		if ev := healthy.next(t); strings.HasPrefix(ev, "id: ") {
			received++
		}
	}
	if received == 0 {
		t.Error("the healthy client received no event while the stuck one was being disconnected")
	}
}

func TestWindowsRouteAndStatus(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{Clock: clocktesting.NewFakePassiveClock(t0)})
	sc := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"},
		Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{{Namespace: "shop",
			Name: "checkout", Ready: true, Critical: true, Reason: v1alpha1.ReasonReady, MaintenanceWindow: "db-upgrade",
			LastTransitionTime: metav1.NewTime(t0)}}}}
	start, end := metav1.NewTime(t0.Add(-time.Minute)), metav1.NewTime(t0.Add(time.Hour))
	win := v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-upgrade"},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"}, Title: "Database upgrade"},
		Status: v1alpha1.MaintenanceWindowStatus{Phase: v1alpha1.PhaseActive,
			Current: &v1alpha1.Occurrence{Start: start, End: &end}}}
	snap, err := snapshot.BuildWithWindows([]v1alpha1.ServiceChecker{sc}, []v1alpha1.MaintenanceWindow{win},
		store.NextVersion(), t0)
	if err != nil {
		t.Fatal(err)
	}
	store.Publish(snap)

	r := do(t, srv, http.MethodGet, "/status?checker=shop/storefront")
	if !strings.Contains(r.body, `"maintenance":true`) || !strings.Contains(r.body,
		`"active":[{"name":"shop/db-upgrade","title":"Database upgrade","message":"","start":"2026-03-01T09:59:00Z","end":"2026-03-01T11:00:00Z","checkers":["shop/storefront"],"services":[]}]`) {
		t.Errorf("GET /status during a window = %s", r.body)
	}
	r = do(t, srv, http.MethodGet, "/services?checker=shop/storefront")
	if !strings.Contains(r.body, `"maintenance":true,"window":"shop/db-upgrade"`) {
		t.Errorf("GET /services during a window = %s, want the covered entry marked", r.body)
	}
	r = do(t, srv, http.MethodGet, "/windows?namespace=shop")
	if r.code != http.StatusOK || !strings.HasPrefix(r.body, `[{"name":"shop/db-upgrade","phase":"Active"`) {
		t.Errorf("GET /windows = %d %s", r.code, r.body)
	}
	for path, code := range map[string]int{"/windows?checker=shop/nope": http.StatusNotFound,
		"/windows?ready=true": http.StatusBadRequest, "/windows?checker=shop/storefront&_=1": http.StatusOK} {
		if r := do(t, srv, http.MethodGet, path); r.code != code {
			t.Errorf("GET %s = %d %s, want %d", path, r.code, r.body, code)
		}
	}
}

// With the status page on, / is the page, which ignores parameters it does not know; every other path answers as
// without it, unknown parameters and paths included.
func TestStatusPageRoute(t *testing.T) {
	srv, store, _ := newServer(t, HandlerOptions{StatusPage: true})
	publish(t, store, shop)
	for _, tt := range []struct {
		method, path string
		code         int
		contentType  string
	}{
		{http.MethodGet, "/", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodGet, "/?checker=shop/storefront&utm_source=mail", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodHead, "/", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodGet, "/?checker=shop/nope", http.StatusNotFound, "text/html; charset=utf-8"},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "text/plain; charset=utf-8"},
		{http.MethodGet, "/index.html", http.StatusNotFound, "application/json"},
		{http.MethodGet, "//", http.StatusNotFound, "application/json"},
		{http.MethodGet, "/status?utm_source=mail", http.StatusBadRequest, "application/json"},
		{http.MethodGet, "/status", http.StatusOK, "application/json"},
	} {
		r := do(t, srv, tt.method, tt.path)
		if r.code != tt.code || r.header.Get("Content-Type") != tt.contentType {
			t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, r.code, r.header.Get("Content-Type"), tt.code,
				tt.contentType)
		}
	}
	if r := do(t, srv, http.MethodGet, "/"); !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'sha256-") {
		t.Errorf("GET / has no Content-Security-Policy allowing its script by hash: %v", r.header)
	}
}
