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

func window(ns, name string, phase v1alpha1.MaintenanceWindowPhase, checkers, services []string,
	current *v1alpha1.Occurrence, next ...v1alpha1.Occurrence) v1alpha1.MaintenanceWindow {
	return v1alpha1.MaintenanceWindow{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: checkers, Services: services, Title: "Database upgrade",
			Announce: &metav1.Duration{Duration: time.Hour}},
		Status: v1alpha1.MaintenanceWindowStatus{Phase: phase, Current: current, Next: next},
	}
}

func occ(start time.Time, d time.Duration) v1alpha1.Occurrence {
	end := metav1.NewTime(start.Add(d))
	return v1alpha1.Occurrence{Start: metav1.NewTime(start), End: &end}
}

// The effect of windows on /status: a whole window puts its ServiceChecker in maintenance; a window on a subset
// only when it covers a Service the ServiceChecker marks critical; upcoming within announce; checker= shows only that
// ServiceChecker's windows.
func TestWindowsInStatus(t *testing.T) {
	now := t0
	storefront := checker("shop", "storefront",
		status("shop", "checkout", true, true, 1, v1alpha1.ReasonReady, t0),
		status("shop", "search", true, false, 1, v1alpha1.ReasonReady, t0))
	storefront.Status.ServiceStatuses[1].MaintenanceWindow = "search-reindex" // non-critical, covered
	ops := checker("ops", "oncall", status("data", "db", true, true, 1, v1alpha1.ReasonReady, t0))
	ops.Status.ServiceStatuses[0].MaintenanceWindow = "db-upgrade" // whole window
	cur := occ(now.Add(-10*time.Minute), time.Hour)
	windows := []v1alpha1.MaintenanceWindow{
		window("shop", "search-reindex", v1alpha1.PhaseActive, []string{"storefront"}, []string{"search"}, &cur),
		window("ops", "db-upgrade", v1alpha1.PhaseActive, []string{"oncall"}, nil, &cur),
		window("shop", "later", v1alpha1.PhaseScheduled, []string{"storefront"}, nil, nil, occ(now.Add(30*time.Minute), time.Hour)),
		window("shop", "much-later", v1alpha1.PhaseScheduled, []string{"storefront"}, nil, nil, occ(now.Add(3*time.Hour), time.Hour)),
	}
	snap, err := BuildWithWindows([]v1alpha1.ServiceChecker{storefront, ops}, windows, 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	summary := func(sel selection.Selection) Summary {
		view, err := snap.Select(sel)
		if err != nil {
			t.Fatal(err)
		}
		s := Summarize(view.Entries, t0)
		s.Windows = snap.WindowsInView(sel, view, now)
		return s
	}

	mine := summary(selection.Selection{Checker: "shop/storefront"})
	if mine.Maintenance {
		t.Error("a window on a non-critical Service put storefront in maintenance")
	}
	if len(mine.Windows.Active) != 1 || mine.Windows.Active[0].Name != "shop/search-reindex" ||
		strings.Join(mine.Windows.Active[0].Services, ",") != "shop/search" {
		t.Errorf("storefront's active windows = %+v", mine.Windows.Active)
	}
	if len(mine.Windows.Upcoming) != 1 || mine.Windows.Upcoming[0].Name != "shop/later" {
		t.Errorf("storefront's upcoming windows = %+v, want only shop/later (much-later is beyond its announce)",
			mine.Windows.Upcoming)
	}
	view, _ := snap.Select(selection.Selection{Checker: "shop/storefront"})
	for _, e := range view.Entries {
		if e.Name == "search" && (!e.Maintenance || e.Window != "shop/search-reindex") {
			t.Errorf("covered entry = %+v, want maintenance true and its window", e)
		}
		if e.Name == "checkout" && (e.Maintenance || e.Window != "") {
			t.Errorf("uncovered entry = %+v", e)
		}
	}

	// A whole window on a ServiceChecker with a non-critical Service down: maintenance, but criticalNotReady stays
	// what it says.
	down := checker("shop", "down", status("shop", "search", false, false, 0, v1alpha1.ReasonNoReadyEndpoints, t0))
	down.Status.ServiceStatuses[0].MaintenanceWindow = "all"
	snap2, _ := BuildWithWindows([]v1alpha1.ServiceChecker{down},
		[]v1alpha1.MaintenanceWindow{window("shop", "all", v1alpha1.PhaseActive, []string{"down"}, nil, &cur)}, 1, t0)
	if got, _ := snap2.Status(selection.Selection{Checker: "shop/down"}, now); !got.Maintenance ||
		len(got.CriticalNotReady) != 0 {
		t.Errorf("whole window over a non-critical Service down = %+v, want maintenance and no criticalNotReady", got)
	}

	// A window whose checkers are all typos has no effect, not even on the unfiltered answer.
	typo := window("shop", "typo", v1alpha1.PhaseActive, []string{"storefrnt"}, nil, &cur)
	snap3, _ := BuildWithWindows([]v1alpha1.ServiceChecker{storefront}, []v1alpha1.MaintenanceWindow{typo}, 1, t0)
	if got, _ := snap3.Status(selection.Selection{}, now); got.Maintenance || len(got.Windows.Active) != 0 {
		t.Errorf("unfiltered /status with a window naming no existing ServiceChecker = %+v, want no effect", got)
	}

	theirs := summary(selection.Selection{Checker: "ops/oncall"})
	if !theirs.Maintenance || len(theirs.CriticalNotReady) != 0 {
		t.Errorf("oncall under a whole window = %+v, want maintenance with no critical Service down", theirs)
	}
	if all := summary(selection.Selection{}); !all.Maintenance || len(all.Windows.Active) != 2 {
		t.Errorf("unfiltered = %+v, want maintenance and both active windows", all)
	}
	if got := summary(selection.Selection{Namespaces: []string{"shop"}}); got.Maintenance ||
		len(got.Windows.Active) != 1 {
		t.Errorf("namespace=shop = %+v, want no maintenance and only storefront's window", got)
	}
	b, _ := json.Marshal(theirs.Windows.Active[0])
	if !strings.Contains(string(b), `"services":[]`) || !strings.Contains(string(b), `"end":"2026-03-01T10:50:00Z"`) {
		t.Errorf("window JSON = %s, want services [] and the end to the second", b)
	}
	if got := snap.ListWindows([]string{"shop"}, ""); len(got) != 3 || got[0].Name != "shop/later" {
		t.Errorf("ListWindows(shop) = %d windows", len(got))
	}
}
