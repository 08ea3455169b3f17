package snapshot

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func checker(ns, name string, statuses ...v1alpha1.ServiceStatus) v1alpha1.ServiceChecker {
	return v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status:     v1alpha1.ServiceCheckerStatus{ServiceStatuses: statuses},
	}
}

func status(ns, name string, ready, critical bool, endpoints int32, reason string, since time.Time) v1alpha1.ServiceStatus {
	return v1alpha1.ServiceStatus{Namespace: ns, Name: name, Ready: ready, Critical: critical, ReadyEndpoints: endpoints,
		Reason: reason, LastTransitionTime: metav1.NewTime(since)}
}

func TestBuildMergesServicesAcrossCheckers(t *testing.T) {
	checkers := []v1alpha1.ServiceChecker{
		// Listed out of order on purpose: checkers are taken in namespace/name order.
		checker("shop", "b-strict",
			status("shop", "api", false, false, 1, v1alpha1.ReasonNotEnoughReadyEndpoints, t0.Add(2*time.Minute))),
		checker("shop", "a-lenient",
			status("shop", "api", true, true, 1, v1alpha1.ReasonReady, t0),
			status("data", "db", true, false, 3, v1alpha1.ReasonReady, t0)),
		checker("ops", "c-down",
			status("shop", "api", false, false, 0, v1alpha1.ReasonNoReadyEndpoints, t0.Add(time.Minute))),
		checker("shop", "no-spec-no-status"),
	}
	snap, err := Build(checkers, 7, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s := snap.All()
	if len(s.Entries) != 2 || s.Entries[0].Key() != "data/db" || s.Entries[1].Key() != "shop/api" {
		t.Fatalf("entries = %+v, want data/db then shop/api", s.Entries)
	}
	api := s.Entries[1]
	if api.Ready || !api.Critical || api.Maintenance {
		t.Errorf("shop/api ready %v critical %v maintenance %v, want not ready (one checker says so), critical (one "+
			"marks it) and no maintenance (the one marking it critical judges it ready)", api.Ready, api.Critical,
			api.Maintenance)
	}
	if want := []string{"ops/c-down", "shop/a-lenient", "shop/b-strict"}; !equal(api.Checkers, want) {
		t.Errorf("shop/api checkers = %v, want %v", api.Checkers, want)
	}
	if api.Reason != v1alpha1.ReasonNoReadyEndpoints {
		t.Errorf("shop/api reason = %s, want the first not-ready checker's (ops/c-down): NoReadyEndpoints", api.Reason)
	}
	if !api.Since.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("shop/api since = %v, want the latest transition", api.Since)
	}
	if s.Summary.Services != 2 || s.Summary.Ready != 1 || s.Summary.Maintenance ||
		!equal(s.Summary.CriticalNotReady, []string{}) {
		t.Errorf("summary = %+v, want 2 services, 1 ready, no maintenance", s.Summary)
	}

	var decoded []map[string]any
	if err := json.Unmarshal(s.Services.JSON, &decoded); err != nil {
		t.Fatalf("services JSON does not decode: %v", err)
	}
	for _, key := range []string{"name", "namespace", "ready", "critical", "maintenance", "readyEndpoints", "reason",
		"since", "checkers"} {
		if _, ok := decoded[0][key]; !ok {
			t.Errorf("entry JSON lacks %q: %s", key, s.EntryJSON[0])
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(s.Services.Gzip()))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, s.Services.JSON) {
		t.Error("gzip encoding does not match the JSON")
	}
}

func TestBuildReportsUncheckedServicesAsPending(t *testing.T) {
	fresh := checker("shop", "fresh")
	fresh.Generation = 1
	fresh.Spec.Services = []v1alpha1.ServiceRef{{Name: "api", Critical: true}}
	edited := checker("shop", "edited", status("shop", "db", true, false, 1, v1alpha1.ReasonReady, t0))
	edited.Generation, edited.Status.ObservedGeneration = 2, 1
	edited.Spec.Services = []v1alpha1.ServiceRef{{Name: "db"}, {Name: "cache", Namespace: "data"}}
	snap, err := Build([]v1alpha1.ServiceChecker{fresh, edited}, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	s := snap.All()
	got := map[string]Entry{}
	for _, e := range s.Entries {
		got[e.Key()] = e
	}
	if e := got["shop/api"]; e.Ready || e.Reason != ReasonPending || !e.Critical {
		t.Errorf("shop/api of a ServiceChecker without status = %+v, want not ready, Pending, critical", e)
	}
	if e := got["data/cache"]; e.Ready || e.Reason != ReasonPending {
		t.Errorf("data/cache added by an unobserved spec edit = %+v, want not ready, Pending", e)
	}
	if e := got["shop/db"]; !e.Ready {
		t.Errorf("shop/db still covered by the status = %+v, want ready", e)
	}
	if !s.Summary.Maintenance {
		t.Error("an unchecked critical Service must not give an all clear")
	}
	if len(edited.Status.ServiceStatuses) != 1 {
		t.Error("Build modified the ServiceChecker it was given")
	}
}

func TestBuildEmptyAndETags(t *testing.T) {
	snap, err := Build(nil, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	empty := snap.All()
	if string(empty.Services.JSON) != "[]" {
		t.Errorf("empty services = %s, want []", empty.Services.JSON)
	}
	if got := string(mustMarshal(empty.Summary)); got !=
		`{"maintenance":false,"criticalNotReady":[],"pending":[],"services":0,"ready":0,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":false}` {
		t.Errorf("empty summary = %s", got)
	}
	stale := empty.Summary.WithFreshness(Freshness{Stale: true, Since: t0.Add(-time.Minute)})
	if got := string(mustMarshal(stale)); got !=
		`{"maintenance":false,"criticalNotReady":[],"pending":[],"services":0,"ready":0,"updated":"2026-03-01T10:00:00Z","windows":{"active":[],"upcoming":[]},"stale":true,"staleSince":"2026-03-01T09:59:00Z"}` {
		t.Errorf("stale summary = %s", got)
	}
	a, _ := Build([]v1alpha1.ServiceChecker{checker("x", "c", status("x", "s", true, false, 1, "Ready", t0))}, 1, t0)
	b, _ := Build([]v1alpha1.ServiceChecker{checker("x", "c", status("x", "s", true, false, 1, "Ready", t0))}, 9, t0)
	c, _ := Build([]v1alpha1.ServiceChecker{checker("x", "c", status("x", "s", false, false, 0, "NoReadyEndpoints", t0))}, 1, t0)
	if a.ETag() != b.ETag() {
		t.Error("the same content under different versions has different ETags; replicas would disagree")
	}
	if a.ETag() == c.ETag() {
		t.Error("different content has the same ETag")
	}
}

func TestStoreWakesWaiters(t *testing.T) {
	st := NewStore()
	if st.Current() != nil {
		t.Fatal("a new store has a snapshot")
	}
	changed := st.Changed()
	snap, _ := Build(nil, st.NextVersion(), t0)
	st.Publish(snap)
	select {
	case <-changed:
	default:
		t.Fatal("Publish did not close the Changed channel")
	}
	if st.Current().Version != 1 {
		t.Errorf("version = %d, want 1", st.Current().Version)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCompressReusesWritersSafely compresses documents concurrently with pooled writers: each must come back whole.
func TestCompressReusesWritersSafely(t *testing.T) {
	docs := make([][]byte, 16)
	for i := range docs {
		docs[i] = bytes.Repeat([]byte(fmt.Sprintf(`{"n":%d},`, i)), 100*(i+1))
	}
	errs := make(chan error, len(docs)*4)
	var wg sync.WaitGroup
	for round := range 4 {
		for i, doc := range docs {
			wg.Go(func() {
				zr, err := gzip.NewReader(bytes.NewReader(Compress(doc)))
				if err == nil {
					var got []byte
					if got, err = io.ReadAll(zr); err == nil && !bytes.Equal(got, doc) {
						err = fmt.Errorf("round %d, document %d: got %d bytes back, want %d", round, i, len(got), len(doc))
					}
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
