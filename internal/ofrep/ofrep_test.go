package ofrep

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// world: shop/storefront's critical checkout is down; ops/oncall's Services are fine but an active whole window
// covers it; storefront has a window announced within the hour.
func world(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	status := func(ns, name string, ready, critical bool) v1alpha1.ServiceStatus {
		reason := v1alpha1.ReasonReady
		if !ready {
			reason = v1alpha1.ReasonNoReadyEndpoints
		}
		return v1alpha1.ServiceStatus{Namespace: ns, Name: name, Ready: ready, Critical: critical, Reason: reason,
			LastTransitionTime: metav1.NewTime(t0)}
	}
	storefront := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"},
		Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{status("shop", "checkout", false, true)}}}
	healthy := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "healthy"},
		Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{status("shop", "search", true, true)}}}
	oncall := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "oncall"},
		Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{status("data", "db", true, true)}}}
	oncall.Status.ServiceStatuses[0].MaintenanceWindow = "db-upgrade"
	start, end := metav1.NewTime(t0.Add(-10*time.Minute)), metav1.NewTime(t0.Add(time.Hour))
	soon, soonEnd := metav1.NewTime(t0.Add(30*time.Minute)), metav1.NewTime(t0.Add(90*time.Minute))
	windows := []v1alpha1.MaintenanceWindow{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "db-upgrade"},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"oncall"}, Title: "Database upgrade",
			Message: "Back at 11:00 UTC."},
		Status: v1alpha1.MaintenanceWindowStatus{Phase: v1alpha1.PhaseActive,
			Current: &v1alpha1.Occurrence{Start: start, End: &end}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "reindex"},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"healthy"}, Title: "Reindex",
			Announce: &metav1.Duration{Duration: time.Hour}},
		Status: v1alpha1.MaintenanceWindowStatus{Phase: v1alpha1.PhaseScheduled,
			Next: []v1alpha1.Occurrence{{Start: soon, End: &soonEnd}}},
	}}
	snap, err := snapshot.BuildWithWindows([]v1alpha1.ServiceChecker{storefront, healthy, oncall}, windows, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestEvaluate(t *testing.T) {
	snap := world(t)
	stale := snapshot.Freshness{Stale: true, Since: t0.Add(-time.Minute)}
	for _, tc := range []struct {
		name, checker string
		fresh         snapshot.Freshness
		want          map[string]any
		reason        string
		wantErr       string
	}{
		{name: "global: any ServiceChecker in maintenance", want: map[string]any{FlagMaintenance: true,
			FlagUpcoming: true, FlagMessage: "Database upgrade: Back at 11:00 UTC."}, reason: ReasonStatic},
		{name: "scoped: a critical Service down", checker: "shop/storefront", want: map[string]any{
			FlagMaintenance: true, FlagUpcoming: false, FlagMessage: ""}, reason: ReasonTargetingMatch},
		{name: "scoped: healthy with a window announced", checker: "shop/healthy", want: map[string]any{
			FlagMaintenance: false, FlagUpcoming: true, FlagMessage: ""}, reason: ReasonTargetingMatch},
		{name: "scoped: an active window", checker: "ops/oncall", fresh: stale, want: map[string]any{
			FlagMaintenance: true, FlagUpcoming: false, FlagMessage: "Database upgrade: Back at 11:00 UTC."},
			reason: ReasonTargetingMatch},
		{name: "a ServiceChecker nobody checks fails loudly", checker: "shop/typo", wantErr: CodeInvalidContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results := Evaluate(snap, tc.checker, tc.fresh, t0)
			if len(results) != len(Flags) {
				t.Fatalf("%d results, want one per flag", len(results))
			}
			for i, r := range results {
				if r.Key != Flags[i] {
					t.Errorf("result %d is %s, want %s (the order of Flags)", i, r.Key, Flags[i])
				}
				if r.Metadata.Stale != tc.fresh.Stale || tc.fresh.Stale != (r.Metadata.StaleSince != "") {
					t.Errorf("%s: metadata %+v with freshness %+v", r.Key, r.Metadata, tc.fresh)
				}
				if tc.wantErr != "" {
					if r.ErrorCode != tc.wantErr || r.Value != nil || !strings.Contains(r.ErrorDetails, tc.checker) {
						t.Errorf("%s = %+v, want %s naming %s", r.Key, r, tc.wantErr, tc.checker)
					}
					continue
				}
				if r.ErrorCode != "" || r.Value != tc.want[r.Key] || r.Reason != tc.reason || r.Variant == "" {
					t.Errorf("%s = %+v, want value %v, reason %s", r.Key, r, tc.want[r.Key], tc.reason)
				}
			}
		})
	}
}

func TestParseContext(t *testing.T) {
	for _, tc := range []struct {
		body, checker, code string
	}{
		{body: `{}`},
		{body: `{"context":null}`},
		{body: `{"context":{"targetingKey":"user-1"}}`},
		{body: `{"context":{"targetingKey":"u","checker":"shop/storefront"}}`, checker: "shop/storefront"},
		{body: ``, code: CodeParseError},
		{body: `{"context":`, code: CodeParseError},
		{body: `[]`, code: CodeParseError},
		{body: `{"context":"shop/storefront"}`, code: CodeInvalidContext},
		{body: `{"context":{"checker":""}}`, code: CodeInvalidContext},
		{body: `{"context":{"checker":42}}`, code: CodeInvalidContext},
		{body: `{"context":{"checker":"storefront"}}`, code: CodeInvalidContext},
		{body: `{"context":{"checker":"Shop/x"}}`, code: CodeInvalidContext},
	} {
		checker, fail := parseContext([]byte(tc.body))
		code := ""
		if fail != nil {
			code = fail.code
			if !strings.Contains(fail.details, "checker") && !strings.Contains(fail.details, "context") {
				t.Errorf("%s: details %q name neither the context nor its checker", tc.body, fail.details)
			}
		}
		if checker != tc.checker || code != tc.code {
			t.Errorf("parseContext(%s) = %q, %s; want %q, %s", tc.body, checker, code, tc.checker, tc.code)
		}
	}
}

func TestMatch(t *testing.T) {
	for path, want := range map[string]string{
		"/ofrep/v1/evaluate/flags": RouteBulk, "/ofrep/v1/evaluate/flags/maintenance": RouteFlag,
		"/ofrep/v1/evaluate/flags/nope": RouteFlag, "/ofrep/v1/events": RouteEvents,
		"/ofrep/v1/evaluate/flags/": "", "/ofrep/v1/evaluate/flags/a/b": "", "/ofrep/v1/evaluate": "", "/ofrep": "",
	} {
		if got, _, _ := Match(path); got != want {
			t.Errorf("Match(%s) = %q, want %q", path, got, want)
		}
	}
}

func newService(t *testing.T) (*Service, *snapshot.Store) {
	store := snapshot.NewStore()
	store.Publish(world(t))
	return &Service{Store: store, Clock: clocktesting.NewFakePassiveClock(t0), RefetchWait: 3 * time.Second}, store
}

func post(target, body string) *http.Request {
	return httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
}

// decodeBulk is OFREP's bulkEvaluationSuccess as a provider reads it.
type bulkAnswer struct {
	Flags []struct {
		Key, Reason, Variant, ErrorCode, ErrorDetails string
		Value                                         any
		Metadata                                      map[string]any
	}
	Metadata     map[string]any
	EventStreams []struct {
		Type     string
		Endpoint struct{ RequestURI string }
	}
}

func decodeBulk(t *testing.T, a Answer) bulkAnswer {
	t.Helper()
	var b bulkAnswer
	if err := json.Unmarshal(a.Body, &b); err != nil {
		t.Fatalf("bulk body %s: %v", a.Body, err)
	}
	return b
}

func TestBulk(t *testing.T) {
	s, _ := newService(t)
	a := s.Bulk(post(RouteBulk, `{"context":{"targetingKey":"u","checker":"shop/storefront"}}`))
	b := decodeBulk(t, a)
	if a.Status != http.StatusOK || !strings.HasPrefix(a.ETag, `W/"`) || len(b.Flags) != 3 || b.Flags[0].Value != true ||
		b.Metadata["stale"] != false || len(b.EventStreams) != 1 || b.EventStreams[0].Type != "sse" ||
		b.EventStreams[0].Endpoint.RequestURI != "/ofrep/v1/events?checker=shop%2Fstorefront" {
		t.Errorf("bulk = %d %s %s", a.Status, a.ETag, a.Body)
	}
	start := time.Now()
	if again := s.Bulk(post(RouteBulk+"?"+url.Values{ParamConfigETag: {a.ETag}, "_": {"1"}}.Encode(),
		`{"context":{"checker":"shop/storefront"}}`)); again.ETag != a.ETag || time.Since(start) > time.Second {
		t.Errorf("same data, another tag: %s then %s", a.ETag, again.ETag)
	}

	// Behind a path prefix, the stream is advertised through it.
	for prefix, want := range map[string]string{"/mwm/": "/mwm/ofrep/v1/events",
		"//evil.example.com": "/ofrep/v1/events", "/a/../b": "/ofrep/v1/events"} {
		r := post(RouteBulk, `{}`)
		r.Header.Set("X-Forwarded-Prefix", prefix)
		if b := decodeBulk(t, s.Bulk(r)); len(b.EventStreams) != 1 || b.EventStreams[0].Endpoint.RequestURI != want {
			t.Errorf("X-Forwarded-Prefix %s: %+v, want %s", prefix, b.EventStreams, want)
		}
	}

	// A well-formed but unknown ServiceChecker: 200 with each flag failed, so that a provider replaces what it held.
	unknown := decodeBulk(t, s.Bulk(post(RouteBulk, `{"context":{"checker":"shop/gone"}}`)))
	for _, f := range unknown.Flags {
		if f.ErrorCode != CodeInvalidContext || f.Value != nil || f.Key == "" {
			t.Errorf("flag of an unknown checker = %+v", f)
		}
	}

	for target, body := range map[string]string{
		RouteBulk + "?checker=shop/storefront":           `{}`,
		RouteBulk + "?flagConfigEtag=a&flagConfigEtag=b": `{}`,
		RouteBulk + "?flagConfigLastModified=x":          `{}`,
		RouteBulk + "?sseLastModified=-1":                `{}`,
		RouteBulk:                                        `{"context":{"checker":"nope"}}`,
		RouteBulk + "?flagConfigLastModified=17":         `not json`,
	} {
		a := s.Bulk(post(target, body))
		var f struct{ Key, ErrorCode, ErrorDetails string }
		if err := json.Unmarshal(a.Body, &f); err != nil || a.Status != http.StatusBadRequest || f.Key != "" ||
			f.ErrorCode == "" || f.ErrorDetails == "" {
			t.Errorf("%s %s = %d %s, want 400 bulkEvaluationFailure", target, body, a.Status, a.Body)
		}
	}
	s.RefetchWait = 10 * time.Millisecond // sseEtag=x is never reached
	for _, q := range []string{"?flagConfigLastModified=1771622898", "?sseLastModified=2026-02-20T21:28:18Z",
		"?sseEtag=x&sseLastModified=0"} {
		if a := s.Bulk(post(RouteBulk+q, `{}`)); a.Status != http.StatusOK {
			t.Errorf("%s = %d %s", q, a.Status, a.Body)
		}
	}
}

// Behind a path prefix, the stream is advertised through it; the application's own query parameters are ignored.
func TestBulkPrefixAndQuery(t *testing.T) {
	s, _ := newService(t)
	// The PathPrefix flag stands in for a proxy that sends no X-Forwarded-Prefix; the header, when sent, wins.
	s.PathPrefix = "/flag"
	for header, want := range map[string]string{"": "/flag/ofrep/v1/events", "/mwm": "/mwm/ofrep/v1/events"} {
		r := post(RouteBulk, `{}`)
		if header != "" {
			r.Header.Set("X-Forwarded-Prefix", header)
		}
		if b := decodeBulk(t, s.Bulk(r)); len(b.EventStreams) != 1 || b.EventStreams[0].Endpoint.RequestURI != want {
			t.Errorf("PathPrefix /flag, X-Forwarded-Prefix %q: %+v, want %s", header, b.EventStreams, want)
		}
	}
	// The web provider's query option adds the application's own parameters: ignored, the known ones still checked.
	if a := s.Bulk(post(RouteBulk+"?utm_source=x&app=shop", `{}`)); a.Status != http.StatusOK {
		t.Errorf("unknown query parameters refused: %d %s", a.Status, a.Body)
	}
}

// A re-fetch announced with a tag this replica does not hold yet waits for it, within RefetchWait.
func TestBulkWaitsForTheAnnouncedData(t *testing.T) {
	s, store := newService(t)
	before := s.Bulk(post(RouteBulk, `{}`))
	store.SetFreshness(true, t0)
	announced := s.Bulk(post(RouteBulk, `{}`)).ETag
	store.SetFreshness(false, t0)

	go func() {
		time.Sleep(200 * time.Millisecond)
		store.SetFreshness(true, t0)
	}()
	start := time.Now()
	got := s.Bulk(post(RouteBulk+"?flagConfigEtag="+announced, `{}`))
	if got.ETag != announced || time.Since(start) < 150*time.Millisecond {
		t.Errorf("re-fetch = %s after %s, want the announced %s after the change", got.ETag, time.Since(start), announced)
	}

	s.RefetchWait = 100 * time.Millisecond
	start = time.Now()
	if got := s.Bulk(post(RouteBulk+"?flagConfigEtag=W/%22never%22", `{}`)); got.Status != http.StatusOK ||
		time.Since(start) > 2*time.Second {
		t.Errorf("a tag never reached: %d after %s", got.Status, time.Since(start))
	}
	// A replica whose snapshot was built in a later second than the announced data holds it already (and more):
	// it answers at once instead of waiting for a tag it went past. The same second still waits: a replica a change
	// behind may have built its last snapshot in that second too.
	s.RefetchWait = 3 * time.Second
	updated := store.Current().Updated.Truncate(time.Second)
	for _, tc := range []struct {
		lastModified time.Time
		waits        bool
	}{{updated.Add(-time.Second), false}, {updated, true}} {
		s.RefetchWait = 300 * time.Millisecond
		start := time.Now()
		q := url.Values{ParamConfigETag: {`W/"other"`}, ParamConfigLastModified: {strconv.FormatInt(tc.lastModified.Unix(), 10)}}
		if got := s.Bulk(post(RouteBulk+"?"+q.Encode(), `{}`)); got.Status != http.StatusOK ||
			(time.Since(start) >= 250*time.Millisecond) != tc.waits {
			t.Errorf("announced %s, snapshot of %s: answered after %s, want waiting %v", tc.lastModified,
				updated, time.Since(start), tc.waits)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := post(RouteBulk+"?flagConfigEtag=W/%22never%22", `{}`).WithContext(ctx)
	if got := s.Bulk(r); got.Status != http.StatusOK || got.ETag == before.ETag {
		t.Errorf("a client gone: %d %s", got.Status, got.ETag)
	}
}

func TestFlag(t *testing.T) {
	s, _ := newService(t)
	for _, tc := range []struct {
		key, body string
		status    int
		code      string
	}{
		{FlagMaintenance, `{"context":{"checker":"shop/healthy"}}`, http.StatusOK, ""},
		{FlagMessage, `{"context":null}`, http.StatusOK, ""},
		{"no-such-flag", `{}`, http.StatusNotFound, CodeFlagNotFound},
		{FlagUpcoming, `{"context":{"checker":"shop/gone"}}`, http.StatusBadRequest, CodeInvalidContext},
		{FlagUpcoming, `{`, http.StatusBadRequest, CodeParseError},
	} {
		a := s.Flag(post(flagPrefix+tc.key, tc.body), tc.key)
		var got map[string]any
		if err := json.Unmarshal(a.Body, &got); err != nil {
			t.Fatal(err)
		}
		if a.Status != tc.status || got["key"] != tc.key || a.ETag != "" {
			t.Errorf("%s %s = %d %s", tc.key, tc.body, a.Status, a.Body)
		}
		if tc.code == "" && (got["reason"] == nil || got["value"] == nil || got["metadata"] == nil) ||
			tc.code != "" && (got["errorCode"] != tc.code || got["errorDetails"] == "") {
			t.Errorf("%s %s = %s, want error code %q", tc.key, tc.body, a.Body, tc.code)
		}
	}
	if a := s.Flag(post(flagPrefix+FlagMaintenance+"?sseEtag=x&flagConfigLastModified=17", `{}`), FlagMaintenance); a.Status != http.StatusOK {
		t.Errorf("a single evaluation refused the re-fetch metadata: %d %s", a.Status, a.Body)
	}
	if a := s.Flag(post(flagPrefix+FlagMaintenance+"?checker=shop/healthy", `{}`), FlagMaintenance); a.Status != http.StatusBadRequest ||
		!strings.Contains(string(a.Body), `evaluation context's \"checker\" attribute`) {
		t.Errorf("?checker= on a single evaluation: %d %s", a.Status, a.Body)
	}
}

func TestRefetches(t *testing.T) {
	s, store := newService(t)
	r := httptest.NewRequest(http.MethodGet, RouteEvents+"?checker=shop/storefront", nil)
	next, fail := s.Refetches(r)
	if fail != nil {
		t.Fatalf("%d %s", fail.Status, fail.Body)
	}
	bulk := s.Bulk(post(RouteBulk, `{"context":{"checker":"shop/storefront"}}`))
	first := string(next(store.Current()))
	if !strings.HasPrefix(first, "event: message\ndata: {\"type\":\"refetchEvaluation\"") ||
		!strings.Contains(first, `"etag":`+string(mustJSON(bulk.ETag))) || !strings.HasSuffix(first, "\n\n") {
		t.Errorf("first event %q, want refetchEvaluation with the bulk tag %s", first, bulk.ETag)
	}
	if again := next(store.Current()); again != nil {
		t.Errorf("nothing changed, yet %q", again)
	}
	store.SetFreshness(true, t0)
	if changed := next(store.Current()); changed == nil {
		t.Error("staleness changed the bulk answer, but no event")
	}
	if _, fail := s.Refetches(httptest.NewRequest(http.MethodGet, RouteEvents+"?namespace=shop&app=x", nil)); fail != nil {
		t.Errorf("unknown parameters on the event stream refused: %s", fail.Body)
	}
	for _, q := range []string{"?checker=", "?checker=nope"} {
		if _, fail := s.Refetches(httptest.NewRequest(http.MethodGet, RouteEvents+q, nil)); fail == nil ||
			fail.Status != http.StatusBadRequest {
			t.Errorf("%s accepted", q)
		}
	}
}
