package snapshot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
)

// inGrace is a critical Service not ready within its grace period until until.
func inGrace(ns, name string, since, until time.Time) v1alpha1.ServiceStatus {
	s := status(ns, name, false, true, 0, v1alpha1.ReasonNoReadyEndpoints, since)
	s.GraceUntil = &metav1.Time{Time: until}
	return s
}

func TestGracePeriodIsPendingNotMaintenance(t *testing.T) {
	until := t0.Add(30 * time.Second)
	checkers := []v1alpha1.ServiceChecker{
		checker("shop", "lenient", inGrace("shop", "checkout", t0, until),
			status("shop", "web", true, true, 2, v1alpha1.ReasonReady, t0)),
		checker("ops", "strict", status("shop", "checkout", false, true, 0, v1alpha1.ReasonNoReadyEndpoints, t0)),
		checker("ops", "other", inGrace("shop", "checkout", t0, until.Add(10*time.Second)),
			inGrace("data", "db", t0, until.Add(20*time.Second))),
	}
	snap, err := Build(checkers, 1, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	// One ServiceChecker's view: checkout is pending, not critical-not-ready, and not maintenance.
	view, err := snap.Select(selection.Selection{Checker: "shop/lenient"})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(view.Entries, snap.Updated)
	if s.Maintenance || len(s.CriticalNotReady) != 0 || s.Ready != 1 {
		t.Errorf("shop/lenient: maintenance %v criticalNotReady %v ready %d, want false [] 1", s.Maintenance,
			s.CriticalNotReady, s.Ready)
	}
	if len(s.Pending) != 1 || s.Pending[0] != (PendingService{Service: "shop/checkout", Until: until}) {
		t.Errorf("shop/lenient pending = %+v, want shop/checkout until %v", s.Pending, until)
	}
	b, _ := json.Marshal(s)
	if want := `"criticalNotReady":[],"pending":[{"service":"shop/checkout","until":"2026-03-01T10:00:30Z"}],`; !strings.Contains(string(b), want) {
		t.Errorf("/status = %s, want it to contain %s", b, want)
	}
	entry := string(view.EntryJSON[0])
	if !strings.Contains(entry, `"maintenance":false,"graceUntil":"2026-03-01T10:00:30Z"`) {
		t.Errorf("entry = %s, want maintenance false and graceUntil", entry)
	}
	if web := string(view.EntryJSON[1]); strings.Contains(web, "graceUntil") {
		t.Errorf("ready entry has graceUntil: %s", web)
	}

	// The ServiceChecker with both Services in grace: pending ordered by Service, earliest first per Service.
	view, _ = snap.Select(selection.Selection{Checker: "ops/other"})
	s = Summarize(view.Entries, snap.Updated)
	if s.Maintenance || len(s.Pending) != 2 || s.Pending[0].Service != "data/db" || s.Pending[1].Service != "shop/checkout" {
		t.Errorf("ops/other: maintenance %v pending %+v", s.Maintenance, s.Pending)
	}

	// Merged: the strict ServiceChecker counts checkout, so it is critical-not-ready and not pending; db stays pending.
	all := snap.All()
	if !all.Summary.Maintenance || len(all.Summary.CriticalNotReady) != 1 || all.Summary.CriticalNotReady[0] != "shop/checkout" {
		t.Errorf("merged: maintenance %v criticalNotReady %v", all.Summary.Maintenance, all.Summary.CriticalNotReady)
	}
	if p := all.Summary.Pending; len(p) != 1 || p[0].Service != "data/db" || !p[0].Until.Equal(until.Add(20*time.Second)) {
		t.Errorf("merged pending = %+v, want data/db only", p)
	}

	// Without the strict one, the merged checkout is pending until the earliest end.
	snap, _ = Build([]v1alpha1.ServiceChecker{checkers[0], checkers[2]}, 2, t0)
	if p := snap.All().Summary.Pending; len(p) != 2 || p[1] != (PendingService{Service: "shop/checkout", Until: until}) ||
		snap.All().Summary.Maintenance {
		t.Errorf("merged without strict: pending %+v maintenance %v", p, snap.All().Summary.Maintenance)
	}
}
