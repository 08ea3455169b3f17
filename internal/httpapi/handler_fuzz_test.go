package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/httpapi"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// fuzzRoutes are the paths FuzzHandler sends requests to, chosen by its route argument; the second /services
// asks for an event stream through Accept.
var fuzzRoutes = []struct {
	path   string
	stream bool
}{
	{"/events", true},
	{"/services", true},
	{"/status", false},
	{"/services", false},
	{"/services/shop/checkout", false},
	{"/services/data/db", false},
	{"/services/shop/nothere", false},
}

// FuzzHandler sends the API handler arbitrary queries, Last-Event-ID, If-None-Match, Accept-Encoding and Origin
// headers, on every route, as GET or HEAD, with fresh or stale data. Whatever the input: no panic and no 5xx; 400
// exactly when the filters do not parse; every 4xx is the documented JSON error; a 200 is JSON, or for a stream
// text/event-stream whose services and status events carry exactly what GET /services and GET /status answer for the
// same query; 304 only when If-None-Match was sent.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), "", "", "", "", "")
	f.Add(uint8(0), "checker=shop/storefront", "7", "", "gzip", "https://shop.example.com")
	f.Add(uint8(1), "namespace=shop&ready=false", "-1", "", "", "")
	f.Add(uint8(0), "checker=nobody/none", "18446744073709551616", "", "", "")
	f.Add(uint8(0), "service=%00", "abc\x00def", "", "", "")
	f.Add(uint8(0), "checker=shop/storefront&checker=ops/oncall", "", "", "", "")
	f.Add(uint8(8), "critical=true", "1", "", "", "") // HEAD /events
	f.Add(uint8(2), "", "", "*", "", "")
	f.Add(uint8(2), "checker=ops/oncall", "", `W/"x", "y", *`, "gzip;q=0, identity", "null")
	f.Add(uint8(3), "_=1&_=2", "", strings.Repeat(`W/"a",`, 100), "GZIP;q=0.5", "")
	f.Add(uint8(3), "ready=maybe", "", "", "gzip;q=nan", "")
	f.Add(uint8(4), "checker=shop/storefront", "", "", "gzip;q=1e999", "")
	f.Add(uint8(4), "ready=true", "", "", "", "")
	f.Add(uint8(5), "checker=shop/storefront", "", "", "", "")
	f.Add(uint8(6), "", "", "", "", "")
	f.Add(uint8(10), "namespace=Shop", "", "", "", "")
	f.Add(uint8(16), "unknown=1", "0", "", "", "*") // stale
	f.Add(uint8(17), "", "99999999999999999999999", "", "", "")
	f.Add(uint8(18), "", "", "", "", "")
	f.Add(uint8(1), "%zz&namespace=shop", "\r\n", "", "", "")
	f.Fuzz(func(t *testing.T, route uint8, rawQuery, lastEventID, ifNoneMatch, acceptEncoding, origin string) {
		h, store := fuzzHandler(t, route&16 != 0)
		target := fuzzRoutes[int(route&7)%len(fuzzRoutes)]
		method := http.MethodGet
		if route&8 != 0 {
			method = http.MethodHead
		}
		header := http.Header{}
		set := func(k, v string) {
			if v != "" {
				header.Set(k, v)
			}
		}
		set("Last-Event-ID", lastEventID)
		set("If-None-Match", ifNoneMatch)
		set("Accept-Encoding", acceptEncoding)
		set("Origin", origin)
		if target.stream {
			header.Set("Accept", "text/event-stream")
		}
		res := serve(h, method, target.path, rawQuery, header)
		what := method + " " + target.path + "?" + rawQuery

		if res.code >= 500 {
			t.Fatalf("%s: %d %s", what, res.code, res.body)
		}
		sel, parseErr := selection.Parse(fuzzQuery(rawQuery))
		if parseErr != nil && res.code != http.StatusBadRequest {
			t.Fatalf("%s: %d, want 400 (%v)", what, res.code, parseErr)
		}
		switch {
		case res.code >= 400:
			checkJSONError(t, what, res)
			return
		case res.code == http.StatusNotModified:
			if ifNoneMatch == "" || len(res.body) > 0 {
				t.Fatalf("%s: 304 without If-None-Match, or with a body: %q", what, res.body)
			}
			return
		case res.code != http.StatusOK:
			t.Fatalf("%s: %d, want 200, 304 or a documented 4xx", what, res.code)
		}
		if sel.Checker != "" {
			if _, ok := store.Current().Part(sel.Checker); !ok {
				t.Fatalf("%s: 200 for a ServiceChecker that does not exist", what)
			}
		}

		if target.stream || target.path == "/events" {
			if ct := res.header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("%s: a stream with Content-Type %q", what, ct)
			}
			if method == http.MethodHead {
				if len(res.body) > 0 {
					t.Fatalf("%s: a body on HEAD: %q", what, res.body)
				}
				return
			}
			events := parseEvents(t, what, res.body)
			for name, want := range map[string]string{"services": "/services", "status": "/status"} {
				data, sent := events[name]
				if !sent {
					continue // a resumed stream (Last-Event-ID) may skip what the client has
				}
				plain := serve(h, http.MethodGet, want, rawQuery, http.Header{})
				if plain.code != http.StatusOK || !bytes.Equal(plain.body, data) {
					t.Fatalf("%s: event %s carries %s, GET %s?%s answers %d %s", what, name, data, want, rawQuery,
						plain.code, plain.body)
				}
			}
			return
		}

		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: 200 with Content-Type %q", what, ct)
		}
		if method == http.MethodHead {
			if len(res.body) > 0 {
				t.Fatalf("%s: a body on HEAD: %q", what, res.body)
			}
			return
		}
		body := res.body
		if res.header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: Content-Encoding gzip, but: %v", what, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: Content-Encoding gzip, but: %v", what, err)
			}
		}
		if !json.Valid(body) {
			t.Fatalf("%s: 200 with a body that is not JSON: %q", what, body)
		}
	})
}

var fuzzT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// fuzzHandler is the handler over a store holding two ServiceCheckers that share a Service, fresh or stale.
func fuzzHandler(t *testing.T, stale bool) (http.Handler, *snapshot.Store) {
	t.Helper()
	status := func(ns, name string, ready, critical bool) v1alpha1.ServiceStatus {
		st := v1alpha1.ServiceStatus{Namespace: ns, Name: name, Ready: ready, Critical: critical,
			Reason: v1alpha1.ReasonNoReadyEndpoints, LastTransitionTime: metav1.NewTime(fuzzT0)}
		if ready {
			st.Reason, st.ReadyEndpoints = v1alpha1.ReasonReady, 2
		}
		return st
	}
	checkers := []v1alpha1.ServiceChecker{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"},
			Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{
				status("shop", "checkout", true, true), status("shop", "search", false, false)}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "oncall"},
			Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{
				status("data", "db", false, true), status("shop", "checkout", true, false)}}},
	}
	store := snapshot.NewStore()
	snap, err := snapshot.Build(checkers, store.NextVersion(), fuzzT0)
	if err != nil {
		t.Fatal(err)
	}
	store.Publish(snap)
	if stale {
		store.SetFreshness(true, fuzzT0.Add(-time.Minute))
	}
	return httpapi.NewHandler(store, httpapi.HandlerOptions{
		CORSAllowedOrigins: []string{"https://shop.example.com"}}), store
}

type fuzzResponse struct {
	code   int
	header http.Header
	body   []byte
}

// serve calls the handler directly. The request's context is already cancelled, so a stream writes what it has
// at connect and returns.
func serve(h http.Handler, method, path, rawQuery string, header http.Header) fuzzResponse {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := (&http.Request{
		Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, RequestURI: path + "?" + rawQuery,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: header, Host: "api.example.com",
		RemoteAddr: "192.0.2.1:1234", Body: http.NoBody,
	}).WithContext(ctx)
	rec := deadlineRecorder{httptest.NewRecorder()}
	h.ServeHTTP(rec, r)
	return fuzzResponse{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// deadlineRecorder accepts the deadlines the handler sets through http.ResponseController, as a connection does.
type deadlineRecorder struct{ *httptest.ResponseRecorder }

func (deadlineRecorder) SetReadDeadline(time.Time) error  { return nil }
func (deadlineRecorder) SetWriteDeadline(time.Time) error { return nil }

// fuzzQuery parses a query as r.URL.Query() does: malformed pairs are dropped, the others kept.
func fuzzQuery(rawQuery string) url.Values {
	q, _ := url.ParseQuery(rawQuery)
	return q
}

// checkJSONError checks the documented error answer: Content-Type application/json and a body {"error": "..."}.
func checkJSONError(t *testing.T, what string, res fuzzResponse) {
	t.Helper()
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: %d with Content-Type %q, want application/json", what, res.code, ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatalf("%s: %d with a body that is not JSON: %q", what, res.code, res.body)
	}
	msg, ok := doc["error"].(string)
	if len(doc) != 1 || !ok || msg == "" {
		t.Fatalf(`%s: %d with %s, want exactly {"error": "..."}`, what, res.code, res.body)
	}
}

// parseEvents reads Server-Sent Events and returns the data of the last event of each name. Every data line must
// be JSON.
func parseEvents(t *testing.T, what string, body []byte) map[string][]byte {
	t.Helper()
	events := map[string][]byte{}
	for _, block := range strings.Split(string(body), "\n\n") {
		if block == "" {
			continue
		}
		name := "message"
		var data []byte
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "id: "):
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = []byte(strings.TrimPrefix(line, "data: "))
				if !json.Valid(data) {
					t.Fatalf("%s: event %s with data that is not JSON: %q", what, name, data)
				}
			default:
				t.Fatalf("%s: a line that is not Server-Sent Events: %q in %q", what, line, body)
			}
		}
		events[name] = data
	}
	return events
}
