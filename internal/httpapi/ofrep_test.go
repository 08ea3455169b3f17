package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

func doBody(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(raw)}
}

const ofrepOrigin = "https://shop.example.com"

func newOFREPServer(t *testing.T) (*httptest.Server, *snapshot.Store) {
	srv, store, _ := newServer(t, HandlerOptions{CORSAllowedOrigins: []string{ofrepOrigin}, SSEHeartbeat: time.Hour})
	return srv, store
}

// The OFREP evaluations as a browser reaches them: a preflight for POST with Content-Type, the bulk evaluation with
// its ETag exposed and 304 on If-None-Match.
func TestOFREPBulkFromABrowser(t *testing.T) {
	srv, store := newOFREPServer(t)
	origin := ofrepOrigin
	if r := doBody(t, srv, http.MethodPost, "/ofrep/v1/evaluate/flags", `{}`); r.code != http.StatusServiceUnavailable ||
		r.header.Get("Retry-After") == "" || !strings.Contains(r.body, `"errorDetails"`) {
		t.Errorf("bulk before sync = %d %s", r.code, r.body)
	}
	publish(t, store, shop)

	for _, path := range []string{"/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/maintenance"} {
		r := do(t, srv, http.MethodOptions, path, "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type,if-none-match")
		if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight of %s = %d %v", path, r.code, r.header)
		}
		// Behind an authenticating proxy, the providers' headers option sends OFREP's security schemes' headers.
		for _, h := range []string{"Authorization", "X-API-Key"} {
			if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), h) {
				t.Errorf("preflight of %s does not allow %s: %v", path, h, r.header)
			}
		}
	}

	body := `{"context":{"checker":"shop/storefront"}}`
	r := doBody(t, srv, http.MethodPost, "/ofrep/v1/evaluate/flags", body, "Origin", origin,
		"Content-Type", "application/json")
	etag := r.header.Get("ETag")
	if r.code != http.StatusOK || etag == "" || r.header.Get("Content-Type") != "application/json" ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "ETag") ||
		!strings.Contains(r.body, `{"key":"maintenance","value":false,"reason":"TARGETING_MATCH"`) {
		t.Fatalf("bulk = %d %v %s", r.code, r.header, r.body)
	}
	if r := doBody(t, srv, http.MethodPost, "/ofrep/v1/evaluate/flags", body, "If-None-Match", etag); r.code != http.StatusNotModified || r.body != "" {
		t.Errorf("bulk with If-None-Match = %d %q, want 304", r.code, r.body)
	}
	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", false, true}}})
	if r := doBody(t, srv, http.MethodPost, "/ofrep/v1/evaluate/flags", body, "If-None-Match", etag); r.code != http.StatusOK ||
		!strings.Contains(r.body, `{"key":"maintenance","value":true`) {
		t.Errorf("bulk after an outage = %d %s", r.code, r.body)
	}
}

// The single evaluation, and the methods the OFREP routes refuse.
func TestOFREPFlagAndMethods(t *testing.T) {
	srv, store := newOFREPServer(t)
	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", false, true}}})
	if r := doBody(t, srv, http.MethodPost, "/ofrep/v1/evaluate/flags/maintenance", `{}`); r.code != http.StatusOK ||
		r.header.Get("ETag") != "" || !strings.Contains(r.body, `"value":true,"reason":"STATIC"`) {
		t.Errorf("single = %d %v %s", r.code, r.header, r.body)
	}
	if r := doBody(t, srv, http.MethodPost, "/ofrep/v1/evaluate/flags/nope", `{}`); r.code != http.StatusNotFound ||
		!strings.Contains(r.body, `"errorCode":"FLAG_NOT_FOUND"`) {
		t.Errorf("unknown flag = %d %s", r.code, r.body)
	}
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		if r := doBody(t, srv, method, "/ofrep/v1/evaluate/flags", `{}`); r.code != http.StatusMethodNotAllowed ||
			r.header.Get("Allow") != "POST, OPTIONS" || !strings.Contains(r.body, "use POST") {
			t.Errorf("%s bulk = %d %v %s", method, r.code, r.header, r.body)
		}
	}
	if r := doBody(t, srv, http.MethodPost, "/ofrep/v1/events", `{}`); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST to the event stream = %d", r.code)
	}
}

func TestOFREPEventStream(t *testing.T) {
	srv, store := newOFREPServer(t)
	origin := ofrepOrigin
	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", false, true}}})
	resp, events := openStream(t, srv, "/ofrep/v1/events?checker=shop/storefront", "Origin", origin)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream = %d %v", resp.StatusCode, resp.Header)
	}
	if e := events.next(t); !strings.HasPrefix(e, "event: message\ndata: {\"type\":\"refetchEvaluation\",\"etag\":") {
		t.Errorf("first event = %q", e)
	}
	publish(t, store, map[string][]svc{"shop/storefront": {{"shop", "checkout", true, true}}})
	if e := events.next(t); !strings.Contains(e, "refetchEvaluation") {
		t.Errorf("event after a recovery = %q", e)
	}
	if r := do(t, srv, http.MethodGet, "/ofrep/v1/events?checker=x"); r.code != http.StatusBadRequest ||
		!strings.Contains(r.body, "INVALID_CONTEXT") {
		t.Errorf("stream of a malformed checker = %d %s", r.code, r.body)
	}
}
