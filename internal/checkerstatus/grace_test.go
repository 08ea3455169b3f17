package checkerstatus

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

func TestTargetsGracePeriod(t *testing.T) {
	sc := &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "c"},
		Spec: v1alpha1.ServiceCheckerSpec{
			GracePeriod: &metav1.Duration{Duration: 30 * time.Second},
			Services: []v1alpha1.ServiceRef{
				{Name: "api", Critical: true},
				{Name: "db", Critical: true, GracePeriod: &metav1.Duration{Duration: 2 * time.Minute}},
				{Name: "cache", GracePeriod: &metav1.Duration{}},
				{Name: "db", Namespace: "shop", GracePeriod: &metav1.Duration{Duration: time.Minute}},
			},
		},
	}
	want := map[string]time.Duration{"api": 30 * time.Second, "db": time.Minute, "cache": 0}
	for _, tg := range Targets(sc) {
		if tg.GracePeriod != want[tg.Service.Name] {
			t.Errorf("grace period of %s = %v, want %v", tg.Service, tg.GracePeriod, want[tg.Service.Name])
		}
	}
	if got := Targets(&v1alpha1.ServiceChecker{Spec: v1alpha1.ServiceCheckerSpec{
		Services: []v1alpha1.ServiceRef{{Name: "api"}}}}); got[0].GracePeriod != 0 {
		t.Errorf("grace period without spec.gracePeriod = %v, want 0", got[0].GracePeriod)
	}
}

// stored is status as read back from the API server: times to the second.
func stored(s v1alpha1.ServiceCheckerStatus) v1alpha1.ServiceCheckerStatus {
	out := *s.DeepCopy()
	for i := range out.ServiceStatuses {
		e := &out.ServiceStatuses[i]
		e.LastTransitionTime = e.LastTransitionTime.Rfc3339Copy()
		if e.GraceUntil != nil {
			c := e.GraceUntil.Rfc3339Copy()
			e.GraceUntil = &c
		}
	}
	for i := range out.Conditions {
		out.Conditions[i].LastTransitionTime = out.Conditions[i].LastTransitionTime.Rfc3339Copy()
	}
	return out
}

func TestBuildGracePeriod(t *testing.T) {
	api, search := key("shop", "api"), key("shop", "search")
	targets := []Target{
		{Service: api, Critical: true, MinReady: 1, GracePeriod: 30 * time.Second},
		{Service: search, MinReady: 1, GracePeriod: 30 * time.Second},
	}
	ready := readiness.Verdict{Ready: true, ReadyEndpoints: 1, Reason: v1alpha1.ReasonReady, Message: "ok"}
	down := readiness.Verdict{Reason: v1alpha1.ReasonNoReadyEndpoints, Message: "down"}
	verdicts := func(a, s readiness.Verdict) map[types.NamespacedName]readiness.Verdict {
		return map[types.NamespacedName]readiness.Verdict{api: a, search: s}
	}
	// The fake clock: fixed instants; the outage is first seen at a fraction of a second.
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	seen := t0.Add(time.Minute + 400*time.Millisecond)
	wantUntil := time.Date(2026, 12, 2, 10, 1, 31, 0, time.UTC) // seen + 30 s, rounded up
	at := func(d time.Time) metav1.Time { return metav1.NewTime(d) }

	healthy, _ := Build(&v1alpha1.ServiceCheckerStatus{}, 1, targets, verdicts(ready, ready), nil, at(t0))
	prev := stored(healthy)

	// The critical api (and the non-critical search) go down: readiness is truthful, maintenance waits.
	first, transitions := Build(&prev, 1, targets, verdicts(down, down), nil, at(seen))
	if len(transitions) != 2 {
		t.Errorf("transitions = %+v, want api and search", transitions)
	}
	e := first.ServiceStatuses[0]
	if e.Ready || e.GraceUntil == nil || !e.GraceUntil.Time.Equal(wantUntil) {
		t.Fatalf("api within grace = ready %v graceUntil %v, want false %v", e.Ready, e.GraceUntil, wantUntil)
	}
	if first.ServiceStatuses[1].GraceUntil != nil {
		t.Errorf("non-critical search has graceUntil %v", first.ServiceStatuses[1].GraceUntil)
	}
	if first.Maintenance || first.ReadyServices != 0 {
		t.Errorf("within grace: maintenance %v ready %d, want false 0", first.Maintenance, first.ReadyServices)
	}
	assertCondition(t, first, v1alpha1.ConditionMaintenance, metav1.ConditionFalse, v1alpha1.ReasonWithinGracePeriod,
		at(t0))
	if got := NextGraceEnd(&first); !got.Equal(wantUntil) {
		t.Errorf("NextGraceEnd = %v, want %v", got, wantUntil)
	}

	// Read back with whole seconds, a second before the end: the same graceUntil (never shorter).
	prev = stored(first)
	later, _ := Build(&prev, 1, targets, verdicts(down, down), nil, at(wantUntil.Add(-time.Second)))
	if g := later.ServiceStatuses[0].GraceUntil; later.Maintenance || g == nil || !g.Time.Equal(wantUntil) {
		t.Errorf("a second before the end: maintenance %v graceUntil %v, want false %v", later.Maintenance, g,
			wantUntil)
	}

	// At graceUntil it counts: maintenance, no graceUntil, the lastTransitionTime of the outage kept.
	prev = stored(later)
	counted, transitions := Build(&prev, 1, targets, verdicts(down, down), nil, at(wantUntil))
	e = counted.ServiceStatuses[0]
	if !counted.Maintenance || e.GraceUntil != nil || !e.LastTransitionTime.Time.Equal(seen.Truncate(time.Second)) {
		t.Errorf("at graceUntil: maintenance %v graceUntil %v since %v, want true, none, %v", counted.Maintenance,
			e.GraceUntil, e.LastTransitionTime, seen.Truncate(time.Second))
	}
	if len(transitions) != 0 {
		t.Errorf("counting is not a readiness transition: %+v", transitions)
	}
	assertCondition(t, counted, v1alpha1.ConditionMaintenance, metav1.ConditionTrue,
		v1alpha1.ReasonCriticalServiceNotReady, at(wantUntil))
	if !NextGraceEnd(&counted).IsZero() {
		t.Errorf("NextGraceEnd after the end = %v, want zero", NextGraceEnd(&counted))
	}

	// Recovery is immediate.
	prev = stored(counted)
	recovered, _ := Build(&prev, 1, targets, verdicts(ready, ready), nil, at(wantUntil.Add(time.Second)))
	if recovered.Maintenance || recovered.ServiceStatuses[0].GraceUntil != nil {
		t.Errorf("after recovery: maintenance %v graceUntil %v", recovered.Maintenance,
			recovered.ServiceStatuses[0].GraceUntil)
	}

	// A blip shorter than the grace period never shows maintenance; a new spell starts a new grace period.
	prev = stored(recovered)
	blipAt := wantUntil.Add(time.Minute)
	blip, _ := Build(&prev, 1, targets, verdicts(down, ready), nil, at(blipAt))
	prev = stored(blip)
	mid, _ := Build(&prev, 1, targets, verdicts(down, ready), nil, at(blipAt.Add(10*time.Second)))
	prev = stored(mid)
	back, _ := Build(&prev, 1, targets, verdicts(ready, ready), nil, at(blipAt.Add(20*time.Second)))
	for i, s := range []v1alpha1.ServiceCheckerStatus{blip, mid, back} {
		if s.Maintenance {
			t.Errorf("blip pass %d in maintenance", i)
		}
	}
	if g := blip.ServiceStatuses[0].GraceUntil; g == nil || !g.Time.Equal(blipAt.Add(30*time.Second)) {
		t.Errorf("new spell graceUntil = %v, want %v", g, blipAt.Add(30*time.Second))
	}

	// Without a grace period a critical Service counts at once.
	noGrace := []Target{{Service: api, Critical: true, MinReady: 1}}
	now, _ := Build(&v1alpha1.ServiceCheckerStatus{}, 1, noGrace, verdicts(down, ready), nil, at(seen))
	if !now.Maintenance || now.ServiceStatuses[0].GraceUntil != nil {
		t.Errorf("no grace period: maintenance %v graceUntil %v", now.Maintenance, now.ServiceStatuses[0].GraceUntil)
	}

	// A window still puts the ServiceChecker in maintenance while a Service is within its grace period.
	w := []Window{{Namespace: "shop", Name: "upgrade", Start: t0}}
	win, _ := Build(&v1alpha1.ServiceCheckerStatus{}, 1, targets, verdicts(down, ready), w, at(seen))
	if !win.Maintenance || win.ServiceStatuses[0].GraceUntil == nil {
		t.Errorf("window during grace: maintenance %v graceUntil %v", win.Maintenance, win.ServiceStatuses[0].GraceUntil)
	}
}
