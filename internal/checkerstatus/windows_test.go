package checkerstatus

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
	"github.com/mamrezb/maintenance-window-manager/internal/windows"
)

func TestWindowCovers(t *testing.T) {
	shopAPI := Target{Service: key("shop", "api")}
	dataDB := Target{Service: key("data", "db")}
	shopDB := Target{Service: key("shop", "db")}
	tests := []struct {
		name     string
		services []string
		target   Target
		want     bool
	}{
		{"no services: the whole ServiceChecker", nil, dataDB, true},
		{"bare name in the window's namespace", []string{"api"}, shopAPI, true},
		{"bare name is not another namespace's Service", []string{"db"}, dataDB, false},
		{"bare name matches the window's namespace only", []string{"db"}, shopDB, true},
		{"namespace/name exact", []string{"data/db"}, dataDB, true},
		{"namespace/name of another namespace", []string{"data/db"}, shopDB, false},
		{"own namespace qualified", []string{"shop/api"}, shopAPI, true},
		{"other Services listed", []string{"search", "data/cache"}, shopAPI, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Window{Namespace: "shop", Name: "w", Services: tt.services}
			if got := w.Covers(tt.target); got != tt.want {
				t.Errorf("Window{Services: %q}.Covers(%s) = %v, want %v", tt.services, tt.target.Service, got, tt.want)
			}
		})
	}
}

func TestBuildWithWindows(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC))
	targets := []Target{
		{Service: key("shop", "api"), Critical: true, MinReady: 1},
		{Service: key("shop", "search"), MinReady: 1},
		{Service: key("data", "db"), Critical: true, MinReady: 1},
	}
	ready := readiness.Verdict{Ready: true, ReadyEndpoints: 1, Reason: v1alpha1.ReasonReady}
	down := readiness.Verdict{Reason: v1alpha1.ReasonNoReadyEndpoints}
	allReady := map[types.NamespacedName]readiness.Verdict{
		key("shop", "api"): ready, key("shop", "search"): ready, key("data", "db"): ready}
	apiDown := map[types.NamespacedName]readiness.Verdict{
		key("shop", "api"): down, key("shop", "search"): ready, key("data", "db"): ready}
	at := func(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }
	whole := Window{Namespace: "shop", Name: "upgrade", Title: "Database upgrade", Start: at(-30)}
	searchOnly := Window{Namespace: "shop", Name: "reindex", Services: []string{"search"}, Start: at(-60)}
	dbOnly := Window{Namespace: "shop", Name: "db-move", Title: "Move", Services: []string{"data/db"}, Start: at(-10)}
	tie := Window{Namespace: "shop", Name: "another", Start: at(-30)}

	tests := []struct {
		name        string
		verdicts    map[types.NamespacedName]readiness.Verdict
		active      []Window
		entries     []string // maintenanceWindow of api, search, db
		maintenance bool
		reason      string
		message     string // substring of the Maintenance condition's message
		ready       int32
	}{
		{
			name: "no window", verdicts: allReady, entries: []string{"", "", ""},
			reason: v1alpha1.ReasonCriticalServicesReady, ready: 3,
		},
		{
			name: "whole window: every entry covered, in maintenance, readiness untouched", verdicts: allReady,
			active: []Window{whole}, entries: []string{"upgrade", "upgrade", "upgrade"}, maintenance: true,
			reason: v1alpha1.ReasonMaintenanceWindow, ready: 3,
			message: `maintenance window upgrade ("Database upgrade") is active`,
		},
		{
			name: "window on a non-critical Service: covered, not in maintenance", verdicts: allReady,
			active: []Window{searchOnly}, entries: []string{"", "reindex", ""},
			reason: v1alpha1.ReasonCriticalServicesReady, ready: 3,
		},
		{
			name: "window on a critical Service in another namespace: in maintenance", verdicts: allReady,
			active: []Window{dbOnly}, entries: []string{"", "", "db-move"}, maintenance: true,
			reason:  v1alpha1.ReasonMaintenanceWindow,
			message: `maintenance window db-move ("Move") on critical Services data/db is active`, ready: 3,
		},
		{
			name:     "critical Service down and a window: MaintenanceWindow first, both in the message",
			verdicts: apiDown, active: []Window{whole}, entries: []string{"upgrade", "upgrade", "upgrade"},
			maintenance: true, reason: v1alpha1.ReasonMaintenanceWindow, ready: 2,
			message: `maintenance window upgrade ("Database upgrade") is active; critical Services not ready: shop/api`,
		},
		{
			name:     "critical Service down, window on a non-critical one: the critical Service decides",
			verdicts: apiDown, active: []Window{searchOnly}, entries: []string{"", "reindex", ""},
			maintenance: true, reason: v1alpha1.ReasonCriticalServiceNotReady, ready: 2,
			message: "critical Services not ready: shop/api",
		},
		{
			name: "several windows: the earliest started is named on an entry", verdicts: allReady,
			active: []Window{dbOnly, whole, searchOnly}, entries: []string{"upgrade", "reindex", "upgrade"},
			maintenance: true, reason: v1alpha1.ReasonMaintenanceWindow, ready: 3,
			message: `maintenance windows are active: upgrade ("Database upgrade"); db-move ("Move") on critical ` +
				`Services data/db`,
		},
		{
			name: "same start: the first by name", verdicts: allReady, active: []Window{whole, tie},
			entries: []string{"another", "another", "another"}, maintenance: true,
			reason: v1alpha1.ReasonMaintenanceWindow, ready: 3,
			message: `maintenance windows are active: another; upgrade ("Database upgrade")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _ := Build(&v1alpha1.ServiceCheckerStatus{}, 1, targets, tt.verdicts, tt.active, t0)
			var entries []string
			for _, e := range status.ServiceStatuses {
				entries = append(entries, e.MaintenanceWindow)
			}
			if !slices.Equal(entries, tt.entries) {
				t.Errorf("entries' maintenanceWindow = %q, want %q", entries, tt.entries)
			}
			if status.Maintenance != tt.maintenance || status.ReadyServices != tt.ready {
				t.Errorf("maintenance %v, ready %d; want %v, %d", status.Maintenance, status.ReadyServices,
					tt.maintenance, tt.ready)
			}
			c := meta.FindStatusCondition(status.Conditions, v1alpha1.ConditionMaintenance)
			wantStatus := metav1.ConditionFalse
			if tt.maintenance {
				wantStatus = metav1.ConditionTrue
			}
			if c.Status != wantStatus || c.Reason != tt.reason || !strings.Contains(c.Message, tt.message) {
				t.Errorf("Maintenance condition = %s/%s %q, want %s/%s containing %q", c.Status, c.Reason, c.Message,
					wantStatus, tt.reason, tt.message)
			}
			wantReady := metav1.ConditionTrue
			if tt.ready < 3 {
				wantReady = metav1.ConditionFalse
			}
			if r := meta.FindStatusCondition(status.Conditions, v1alpha1.ConditionReady); r.Status != wantReady {
				t.Errorf("Ready condition = %s, want %s: a window never changes readiness", r.Status, wantReady)
			}
		})
	}
}

func TestWindowsMessageIsBounded(t *testing.T) {
	effects := make([]windowEffect, 0, 25)
	for i := range 25 {
		effects = append(effects, windowEffect{window: Window{Name: strings.Repeat("w", 253) + string(rune('a'+i))}})
	}
	msg := windowsMessage(effects)
	if !strings.HasSuffix(msg, "; and 15 more") || len(msg) > 32768 {
		t.Errorf("message of 25 windows (%d bytes) ends %q", len(msg), msg[len(msg)-20:])
	}
}

func TestWindowChanges(t *testing.T) {
	status := func(names ...string) *v1alpha1.ServiceCheckerStatus {
		s := &v1alpha1.ServiceCheckerStatus{}
		for i, w := range names {
			s.ServiceStatuses = append(s.ServiceStatuses, v1alpha1.ServiceStatus{Namespace: "shop",
				Name: []string{"api", "search", "db"}[i], MaintenanceWindow: w})
		}
		return s
	}
	tests := []struct {
		name       string
		prev, next *v1alpha1.ServiceCheckerStatus
		want       []WindowChange
	}{
		{"nothing covered", status("", "", ""), status("", "", ""), nil},
		{"a status from before windows existed", &v1alpha1.ServiceCheckerStatus{}, status("", ""), nil},
		{"a window starts", status("", "", ""), status("w", "", "w"),
			[]WindowChange{{Window: "w", Started: true, Services: []string{"shop/api", "shop/db"}}}},
		{"covering one more entry is no change", status("w", "", ""), status("w", "w", ""), nil},
		{"a window ends", status("w", "w", ""), status("", "", ""),
			[]WindowChange{{Window: "w", Services: []string{"shop/api", "shop/search"}}}},
		{"handover: ended first, then started", status("b", "a", ""), status("c", "", "c"), []WindowChange{
			{Window: "a", Services: []string{"shop/search"}},
			{Window: "b", Services: []string{"shop/api"}},
			{Window: "c", Started: true, Services: []string{"shop/api", "shop/db"}},
		}},
		{"first status of a ServiceChecker with an active window", &v1alpha1.ServiceCheckerStatus{}, status("w"),
			[]WindowChange{{Window: "w", Started: true, Services: []string{"shop/api"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WindowChanges(tt.prev, tt.next)
			if !slices.EqualFunc(got, tt.want, func(a, b WindowChange) bool {
				return a.Window == b.Window && a.Started == b.Started && slices.Equal(a.Services, b.Services)
			}) {
				t.Errorf("WindowChanges() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestBuildFollowsAWindowAcrossDST chains internal/windows and Build as the controller does, with fake instants
// around the spring and autumn changes in Europe/Berlin: a Sunday 02:30 window of one hour starts at 03:30 CEST on
// 29 March 2026 (02:30 does not exist that day) and at 02:30 CEST, the first of the two, on 25 October 2026.
func TestBuildFollowsAWindowAcrossDST(t *testing.T) {
	spec := windows.Spec{Schedule: "30 2 * * 0", TimeZone: "Europe/Berlin", Duration: time.Hour,
		Announce: 24 * time.Hour}
	targets := []Target{{Service: key("shop", "api"), Critical: true, MinReady: 1}}
	verdicts := map[types.NamespacedName]readiness.Verdict{
		key("shop", "api"): {Ready: true, ReadyEndpoints: 1, Reason: v1alpha1.ReasonReady}}
	utc := func(month time.Month, day, hour, minute, second int) time.Time {
		return time.Date(2026, month, day, hour, minute, second, 0, time.UTC)
	}
	tests := []struct {
		now         time.Time
		maintenance bool
		boundary    time.Time
	}{
		{utc(3, 29, 1, 29, 59), false, utc(3, 29, 1, 30, 0)}, // 03:29:59 CEST
		{utc(3, 29, 1, 30, 0), true, utc(3, 29, 2, 30, 0)},   // 03:30 CEST, the shifted 02:30
		{utc(3, 29, 2, 29, 59), true, utc(3, 29, 2, 30, 0)},
		{utc(3, 29, 2, 30, 0), false, utc(4, 4, 0, 30, 0)}, // ended; the next one is announced 24h ahead
		{utc(10, 25, 0, 29, 59), false, utc(10, 25, 0, 30, 0)},
		{utc(10, 25, 0, 30, 0), true, utc(10, 25, 1, 30, 0)}, // 02:30 CEST, the first 02:30
		{utc(10, 25, 1, 29, 59), true, utc(10, 25, 1, 30, 0)},
		{utc(10, 25, 1, 30, 0), false, utc(10, 31, 1, 30, 0)}, // 02:30 CET, the second 02:30: no second occurrence
	}
	var prev v1alpha1.ServiceCheckerStatus
	for _, tt := range tests {
		st := windows.Evaluate(spec, tt.now)
		var active []Window
		if st.Phase == windows.PhaseActive {
			active = append(active, Window{Namespace: "shop", Name: "weekly", Start: st.Current.Start})
		}
		status, _ := Build(&prev, 1, targets, verdicts, active, metav1.NewTime(tt.now))
		if status.Maintenance != tt.maintenance || !st.NextBoundary.Equal(tt.boundary) {
			t.Errorf("at %s: maintenance %v, next boundary %s; want %v, %s", tt.now.Format(time.RFC3339),
				status.Maintenance, st.NextBoundary.Format(time.RFC3339), tt.maintenance,
				tt.boundary.Format(time.RFC3339))
		}
		changes := WindowChanges(&prev, &status)
		if flipped := prev.Maintenance != status.Maintenance; flipped != (len(changes) == 1) {
			t.Errorf("at %s: maintenance %v -> %v with changes %+v", tt.now.Format(time.RFC3339), prev.Maintenance,
				status.Maintenance, changes)
		}
		prev = status
	}
}
