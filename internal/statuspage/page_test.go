package statuspage

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
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

func checker(ns, name string, statuses ...v1alpha1.ServiceStatus) v1alpha1.ServiceChecker {
	return v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: statuses}}
}

func status(ns, name string, ready, critical bool) v1alpha1.ServiceStatus {
	reason := v1alpha1.ReasonReady
	if !ready {
		reason = "NoReadyEndpoints"
	}
	return v1alpha1.ServiceStatus{Namespace: ns, Name: name, Ready: ready, Critical: critical, ReadyEndpoints: 2,
		Reason: reason, LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))}
}

// world: shop/storefront is operational; ops/oncall has a critical Service down; an active window on storefront
// covers only a non-critical Service (no maintenance), and one is upcoming.
func world(t *testing.T) *snapshot.Store {
	t.Helper()
	storefront := checker("shop", "storefront", status("shop", "checkout", true, true), status("shop", "search", true, false))
	oncall := checker("ops", "oncall", status("data", "db", false, true))
	end := metav1.NewTime(t0.Add(time.Hour))
	nextEnd := metav1.NewTime(t0.Add(3 * time.Hour))
	windows := []v1alpha1.MaintenanceWindow{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "reindex"},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"}, Services: []string{"search"},
			Title: "Search reindex", Message: "Search results may be <incomplete>."},
		Status: v1alpha1.MaintenanceWindowStatus{Phase: v1alpha1.PhaseActive,
			Current: &v1alpha1.Occurrence{Start: metav1.NewTime(t0.Add(-time.Minute)), End: &end},
			Next:    []v1alpha1.Occurrence{{Start: metav1.NewTime(t0.Add(2 * time.Hour)), End: &nextEnd}}},
	}}
	snap, err := snapshot.BuildWithWindows([]v1alpha1.ServiceChecker{storefront, oncall}, windows, 7, t0)
	if err != nil {
		t.Fatal(err)
	}
	store := snapshot.NewStore()
	store.Publish(snap)
	return store
}

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestPage(t *testing.T) {
	h := New(world(t), Options{Clock: clocktesting.NewFakePassiveClock(t0)})
	for _, tc := range []struct {
		name, target string
		code         int
		want, not    []string
	}{
		{"everything", "/", 200,
			[]string{`class="state maintenance"`, "data/db", "shop/checkout", "Search reindex",
				"Search results may be &lt;incomplete&gt;.", "2 of 3 ready", "every ServiceChecker", "Upcoming maintenance",
				`<time datetime="2026-03-01T11:00:00Z">2026-03-01 11:00 UTC</time>`, `data-version="7"`, "<script>"},
			[]string{"<incomplete>", "All ServiceCheckers"}},
		{"one checker, tracking parameters ignored", "/?checker=shop/storefront&utm_source=chat&fbclid=x&checker=ops/oncall", 200,
			[]string{`class="state operational"`, "All systems operational", "shop/checkout", "ServiceChecker shop/storefront",
				`data-query="checker=shop%2Fstorefront"`, `href="?"`},
			[]string{"data/db"}},
		{"namespace", "/?namespace=data", 200,
			[]string{`class="state maintenance"`, "data/db", "namespace data"}, []string{"shop/checkout"}},
		{"unknown checker", "/?checker=shop/nope", 404,
			[]string{"ServiceChecker shop/nope does not exist"}, []string{"<script>"}},
		{"bad checker", "/?checker=nope", 400,
			[]string{"is not &lt;namespace&gt;/&lt;name&gt; of a ServiceChecker"}, []string{"<script>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, h, tc.target)
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d:\n%s", resp.StatusCode, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("page has %q:\n%s", n, body)
				}
			}
		})
	}
}

// The policy allows the page's inline style and script by hash, exactly as rendered, and never unsafe-inline.
func TestContentSecurityPolicy(t *testing.T) {
	resp, body := get(t, New(world(t), Options{}), "/")
	csp := resp.Header.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	for _, el := range []string{"style", "script"} {
		m := regexp.MustCompile(`(?s)<` + el + `>(.*?)</` + el + `>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no inline %s", el)
		}
		sum := sha256.Sum256([]byte(m[1]))
		want := el + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("the rendered %s is not the one the policy allows: %q lacks %q", el, csp, want)
		}
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
}

func TestStaleAndNotSynced(t *testing.T) {
	store := world(t)
	store.SetFreshness(true, t0.Add(-time.Minute))
	_, body := get(t, New(store, Options{}), "/?checker=shop/storefront")
	for _, w := range []string{`class="state stale"`, `class="banner stale"`, "2026-03-01 09:59 UTC",
		"Last known state: operational"} {
		if !strings.Contains(body, w) {
			t.Errorf("stale page lacks %q:\n%s", w, body)
		}
	}

	resp, body := get(t, New(snapshot.NewStore(), Options{}), "/")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" ||
		!strings.Contains(body, `http-equiv="refresh"`) {
		t.Errorf("before the first snapshot: %d, Retry-After %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	// The stale banner stays out of the region the script replaces on every update: screen readers would announce
	// the alert again each time. Without staleness it is there, hidden and empty.
	if strings.Index(body, `id="stale"`) > strings.Index(body, `id="live"`) {
		t.Errorf("the stale banner is inside #live:\n%s", body)
	}
	_, fresh := get(t, New(world(t), Options{}), "/")
	if !strings.Contains(fresh, `<p id="stale" class="banner stale" role="alert" hidden></p>`) {
		t.Errorf("a fresh page lacks the hidden, empty stale banner:\n%s", fresh)
	}

	rec := httptest.NewRecorder()
	New(store, Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// The page carries the content tag of its list, as the stream's changed events send it: the script tells a page
// fetched from a replica a change behind.
func TestPageTag(t *testing.T) {
	store := world(t)
	_, body := get(t, New(store, Options{}), "/?checker=shop/storefront")
	view, err := store.Current().SelectEncoded(selection.Selection{Checker: "shop/storefront"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `data-tag="` + template.HTMLEscapeString(snapshot.ContentTag(view.JSON)) + `"`; !strings.Contains(body, want) {
		t.Errorf("page lacks %s", want)
	}
}

// The page is sent gzipped to clients that take it, and its weight grows with the Services in view: a page of 200
// Services stays under the 50 KB with gzip.
func TestPageCompressed(t *testing.T) {
	statuses := make([]v1alpha1.ServiceStatus, 0, 200)
	for i := range 200 {
		statuses = append(statuses, status("shop", fmt.Sprintf("service-%03d", i), i%7 != 0, i%3 == 0))
	}
	snap, err := snapshot.BuildWithWindows([]v1alpha1.ServiceChecker{checker("shop", "big", statuses...)}, nil, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	store := snapshot.NewStore()
	store.Publish(snap)
	h := New(store, Options{Clock: clocktesting.NewFakePassiveClock(t0)})
	_, plain := get(t, h, "/")

	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	h.ServeHTTP(rec, r)
	resp := rec.Result()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" ||
		resp.Header.Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
		t.Fatalf("headers %v for %d bytes", resp.Header, rec.Body.Len())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || string(unzipped) != plain {
		t.Fatalf("the gzipped page differs from the plain one (%v)", err)
	}
	t.Logf("page of 200 Services: %d bytes, %d gzipped", len(plain), resp.ContentLength)
	if resp.ContentLength >= 50_000 {
		t.Errorf("a page of 200 Services is %d bytes gzipped", resp.ContentLength)
	}
}
