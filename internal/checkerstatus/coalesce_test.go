package checkerstatus

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

// TestCountsOnly builds statuses with Build, as the controller does, and asks which changes are counts only.
func TestCountsOnly(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Second))
	targets := []Target{
		{Service: key("shop", "api"), Critical: true, MinReady: 2},
		{Service: key("shop", "search"), MinReady: 1},
	}
	build := func(prev *v1alpha1.ServiceCheckerStatus, api, search readiness.Verdict, active []Window) v1alpha1.ServiceCheckerStatus {
		s, _ := Build(prev, 1, targets, map[types.NamespacedName]readiness.Verdict{key("shop", "api"): api,
			key("shop", "search"): search}, active, t1)
		return s
	}
	ready := func(n int32) readiness.Verdict {
		return readiness.Verdict{Ready: true, ReadyEndpoints: n, Reason: v1alpha1.ReasonReady, Message: "n of n endpoints ready"}
	}
	notEnough := readiness.Verdict{ReadyEndpoints: 1, Reason: v1alpha1.ReasonNotEnoughReadyEndpoints, Message: "1 of 3"}
	none := readiness.Verdict{Reason: v1alpha1.ReasonNoReadyEndpoints, Message: "0 of 3"}

	base, _ := Build(&v1alpha1.ServiceCheckerStatus{}, 1, targets,
		map[types.NamespacedName]readiness.Verdict{key("shop", "api"): ready(3), key("shop", "search"): ready(3)}, nil, t0)
	scaled := ready(4)
	scaled.Message = "4 of 4 endpoints ready"
	for _, tc := range []struct {
		name string
		next v1alpha1.ServiceCheckerStatus
		want bool
	}{
		{"scale 3 -> 4, still ready", build(&base, scaled, ready(3), nil), true},
		{"both Services scale", build(&base, scaled, ready(1), nil), true},
		{"readiness flips", build(&base, notEnough, ready(3), nil), false},
		{"reason changes, readiness does not (1 -> 0 of minReady 2)",
			build(func() *v1alpha1.ServiceCheckerStatus { s := build(&base, notEnough, ready(3), nil); return &s }(),
				none, ready(3), nil), false},
		{"a window starts", build(&base, scaled, ready(3), []Window{{Namespace: "shop", Name: "upgrade",
			Start: t1.Time}}), false},
		{"identical statuses (the controller writes nothing then)", build(&base, ready(3), ready(3), nil), true},
		{"a Service added to the spec", v1alpha1.ServiceCheckerStatus{ServiceStatuses: base.ServiceStatuses[:1]}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountsOnly(&base, &tc.next); got != tc.want {
				t.Errorf("CountsOnly() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDeferCounts walks a fake clock across a coalescing interval, over the night Europe's clocks go forward:
// intervals are durations on the monotonic instant, so a DST change neither shortens nor lengthens them.
func TestDeferCounts(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	lastWrite := time.Date(2026, 3, 29, 1, 59, 58, 0, berlin) // 2 s before 02:00 becomes 03:00
	for _, tc := range []struct {
		name      string
		lastWrite time.Time
		interval  time.Duration
		now       time.Time
		want      time.Time
	}{
		{"within the interval: wait for its end", lastWrite, 5 * time.Second, lastWrite.Add(time.Second),
			lastWrite.Add(5 * time.Second)},
		{"the end falls after the clock change, 3 s later in wall time terms", lastWrite, 5 * time.Second,
			lastWrite.Add(4 * time.Second), time.Date(2026, 3, 29, 3, 0, 3, 0, berlin)},
		{"at the end: write now", lastWrite, 5 * time.Second, lastWrite.Add(5 * time.Second), time.Time{}},
		{"long after: write now", lastWrite, 5 * time.Second, lastWrite.Add(time.Hour), time.Time{}},
		{"interval 0 writes at once", lastWrite, 0, lastWrite.Add(time.Second), time.Time{}},
		{"nothing written this term: write now", time.Time{}, 5 * time.Second, lastWrite, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DeferCounts(tc.lastWrite, tc.interval, tc.now); !got.Equal(tc.want) {
				t.Errorf("DeferCounts() = %v, want %v", got, tc.want)
			}
		})
	}
}
