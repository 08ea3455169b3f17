package checkerstatus

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

func key(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}

func TestTargetsDefaultsNamespaceAndMergesDuplicates(t *testing.T) {
	sc := &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "c"},
		Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
			{Name: "api", MinReady: 1},
			{Name: "db", Namespace: "data", Critical: true},
			{Name: "api", Namespace: "shop", Critical: true, MinReady: 3},
		}},
	}
	got := Targets(sc)
	want := []Target{
		{Service: key("shop", "api"), Critical: true, MinReady: 3},
		{Service: key("data", "db"), Critical: true, MinReady: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Targets() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Targets()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestBuild(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	targets := []Target{
		{Service: key("shop", "api"), Critical: true, MinReady: 1},
		{Service: key("shop", "search"), MinReady: 1},
	}
	ready := readiness.Verdict{Ready: true, ReadyEndpoints: 2, Reason: v1alpha1.ReasonReady, Message: "ok"}
	down := readiness.Verdict{Reason: v1alpha1.ReasonNoReadyEndpoints, Message: "down"}

	// First pass: api ready, search down; search is reported as a transition, api is not.
	first, transitions := Build(&v1alpha1.ServiceCheckerStatus{}, 1, targets,
		map[types.NamespacedName]readiness.Verdict{key("shop", "api"): ready, key("shop", "search"): down}, nil, t0)
	if first.ReadyServices != 1 || first.TotalServices != 2 || first.Maintenance || first.ObservedGeneration != 1 {
		t.Fatalf("first status counters = %d/%d maintenance %v gen %d", first.ReadyServices, first.TotalServices,
			first.Maintenance, first.ObservedGeneration)
	}
	if len(transitions) != 1 || transitions[0].Service != key("shop", "search") || transitions[0].Ready {
		t.Errorf("first transitions = %+v, want only shop/search not ready", transitions)
	}
	assertCondition(t, first, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonServicesNotReady, t0)
	assertCondition(t, first, v1alpha1.ConditionMaintenance, metav1.ConditionFalse, v1alpha1.ReasonCriticalServicesReady, t0)

	// Same verdicts later: nothing changes, not even times.
	same, transitions := Build(&first, 1, targets,
		map[types.NamespacedName]readiness.Verdict{key("shop", "api"): ready, key("shop", "search"): down}, nil, t1)
	if len(transitions) != 0 {
		t.Errorf("unchanged verdicts gave transitions %+v", transitions)
	}
	if same.ServiceStatuses[0].LastTransitionTime != t0 || same.Conditions[0].LastTransitionTime != t0 {
		t.Errorf("unchanged verdicts moved transition times to %v", same.ServiceStatuses[0].LastTransitionTime)
	}

	// The critical api goes down (and its verdict goes missing entirely for search: treated as not found).
	flipped, transitions := Build(&first, 2, targets,
		map[types.NamespacedName]readiness.Verdict{key("shop", "api"): down}, nil, t1)
	if len(transitions) != 1 || transitions[0].Service != key("shop", "api") || !transitions[0].Critical {
		t.Errorf("flip transitions = %+v, want only critical shop/api", transitions)
	}
	api, search := flipped.ServiceStatuses[0], flipped.ServiceStatuses[1]
	if api.Ready || api.LastTransitionTime != t1 || !api.Critical {
		t.Errorf("api after flip = %+v, want not ready, critical, transition at t1", api)
	}
	if search.Reason != v1alpha1.ReasonServiceNotFound || search.LastTransitionTime != t0 {
		t.Errorf("search without verdict = %+v, want ServiceNotFound keeping t0", search)
	}
	if !flipped.Maintenance || flipped.ReadyServices != 0 {
		t.Errorf("flipped maintenance %v ready %d, want true 0", flipped.Maintenance, flipped.ReadyServices)
	}
	assertCondition(t, flipped, v1alpha1.ConditionMaintenance, metav1.ConditionTrue, v1alpha1.ReasonCriticalServiceNotReady, t1)
	assertCondition(t, flipped, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonServicesNotReady, t0)
	if c := meta.FindStatusCondition(flipped.Conditions, v1alpha1.ConditionReady); c.ObservedGeneration != 2 {
		t.Errorf("Ready condition observedGeneration = %d, want 2", c.ObservedGeneration)
	}
}

func assertCondition(t *testing.T, s v1alpha1.ServiceCheckerStatus, typ string, status metav1.ConditionStatus,
	reason string, since metav1.Time) {
	t.Helper()
	c := meta.FindStatusCondition(s.Conditions, typ)
	if c == nil {
		t.Fatalf("condition %s missing", typ)
	}
	if c.Status != status || c.Reason != reason || !c.LastTransitionTime.Equal(&since) {
		t.Errorf("condition %s = %s/%s since %v, want %s/%s since %v", typ, c.Status, c.Reason,
			c.LastTransitionTime, status, reason, since)
	}
}
