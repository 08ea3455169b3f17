package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/windows"
)

// Plain tests of the conversions around internal/windows and of the window metric; they need no API server
// (go test -run TestWindow).

func TestWindowSpecDefaultsAnnounce(t *testing.T) {
	start := metav1.NewTime(time.Date(2026, 12, 5, 2, 0, 0, 0, time.FixedZone("CET", 3600)))
	got := windowSpec(&v1alpha1.MaintenanceWindowSpec{Start: &start, Duration: &metav1.Duration{Duration: time.Hour}})
	if got.Announce != 24*time.Hour || got.Duration != time.Hour || !got.Start.Equal(start.Time) || got.End != nil {
		t.Errorf("windowSpec() = %+v, want announce 24h, duration 1h, the start, no end", got)
	}
	got = windowSpec(&v1alpha1.MaintenanceWindowSpec{Schedule: "0 3 * * 0", TimeZone: "Europe/Berlin",
		Announce: &metav1.Duration{}, Suspend: true})
	if got.Announce != 0 || got.Schedule != "0 3 * * 0" || got.TimeZone != "Europe/Berlin" || !got.Suspend {
		t.Errorf("windowSpec() = %+v, want an explicit announce of 0 kept", got)
	}
}

func TestWindowStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	start := time.Date(2026, 12, 5, 1, 0, 0, 500_000_000, time.UTC) // sub-second: stored to the second
	oneOff := windows.Spec{Start: &start, Duration: 2 * time.Hour, Announce: 24 * time.Hour}
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	scheduled := windowStatus(&v1alpha1.MaintenanceWindowStatus{}, 3, oneOff, windows.Evaluate(oneOff, at(0)), t0)
	if scheduled.Phase != v1alpha1.PhaseScheduled || len(scheduled.Next) != 1 || scheduled.Current != nil ||
		scheduled.ObservedGeneration != 3 {
		t.Fatalf("before start: %+v", scheduled)
	}
	if got := scheduled.Start.Time; !got.Equal(time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("start = %v, want truncated to the second", got)
	}

	later := metav1.NewTime(at(5 * time.Hour))
	completed := windowStatus(&scheduled, 3, oneOff, windows.Evaluate(oneOff, later.Time), later)
	if completed.Phase != v1alpha1.PhaseCompleted || completed.Current != nil || len(completed.Next) != 0 {
		t.Fatalf("after end: %+v", completed)
	}
	if completed.Start == nil || completed.End == nil || completed.End.Sub(completed.Start.Time) != 2*time.Hour {
		t.Errorf("a Completed window keeps the ended occurrence in start/end, got %v-%v", completed.Start,
			completed.End)
	}
	c := meta.FindStatusCondition(completed.Conditions, v1alpha1.ConditionValid)
	if c == nil || c.Status != metav1.ConditionTrue || !c.LastTransitionTime.Equal(&t0) {
		t.Errorf("Valid condition = %+v, want True since t0", c)
	}
	if becameInvalid(&scheduled, &completed) {
		t.Error("a valid window reported as having become invalid")
	}

	invalid := windows.Spec{Schedule: "61 3 * * *", Duration: time.Hour}
	bad := windowStatus(&completed, 4, invalid, windows.Evaluate(invalid, later.Time), later)
	c = meta.FindStatusCondition(bad.Conditions, v1alpha1.ConditionValid)
	if bad.Phase != v1alpha1.PhaseInvalid || bad.Start != nil || c.Status != metav1.ConditionFalse ||
		c.Reason != v1alpha1.ReasonInvalidSchedule || c.ObservedGeneration != 4 || !c.LastTransitionTime.Equal(&later) {
		t.Errorf("invalid: %+v, condition %+v", bad, c)
	}
	if !becameInvalid(&completed, &bad) {
		t.Error("the window became invalid, no Event")
	}
	if becameInvalid(&bad, ptr.To(windowStatus(&bad, 4, invalid, windows.Evaluate(invalid, later.Time), later))) {
		t.Error("still invalid the same way: a second Event")
	}
	zone := windows.Spec{Schedule: "0 3 * * *", TimeZone: "Mars/Olympus", Duration: time.Hour}
	if !becameInvalid(&bad, ptr.To(windowStatus(&bad, 5, zone, windows.Evaluate(zone, later.Time), later))) {
		t.Error("invalid in another way: no Event")
	}
}

func TestWindowMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewWindowMetrics(reg)
	a, b := types.NamespacedName{Namespace: "shop", Name: "a"}, types.NamespacedName{Namespace: "shop", Name: "b"}
	m.Observe(a, true)
	m.Observe(b, false)
	want := `
# HELP mwm_maintenance_window_active 1 while the MaintenanceWindow is active (an occurrence is under way), 0 when not.
# TYPE mwm_maintenance_window_active gauge
mwm_maintenance_window_active{name="a",namespace="shop"} 1
mwm_maintenance_window_active{name="b",namespace="shop"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	m.Forget(a)
	if n := testutil.CollectAndCount(m.active); n != 1 {
		t.Errorf("%d series after Forget, want 1", n)
	}
	m.Reset()
	if n := testutil.CollectAndCount(m.active); n != 0 {
		t.Errorf("%d series after Reset, want 0", n)
	}
	var none *WindowMetrics
	none.Observe(a, true) // a nil recorder records nothing
	none.Forget(a)
	none.Reset()
}
