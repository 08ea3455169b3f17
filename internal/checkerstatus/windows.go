package checkerstatus

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// Window is an active MaintenanceWindow that names the ServiceChecker. The controller evaluates each window's spec
// at now (internal/windows) and passes only the active ones; their status is not read, as it could lag.
type Window struct {
	// Namespace and Name of the MaintenanceWindow; the namespace is the ServiceChecker's.
	Namespace, Name string
	// Title is spec.title, for the Maintenance condition's message.
	Title string
	// Services is spec.services as written: "name" (a Service in the window's namespace) or "namespace/name".
	// Empty: the window covers the whole ServiceChecker.
	Services []string
	// Start is when the occurrence under way started: of several windows covering an entry, the earliest started
	// is named on it, then the first by name.
	Start time.Time
}

// Covers reports whether the window covers the entry of target: it lists no Services, or lists target's. A bare
// name is a Service in the window's namespace, as in the ServiceChecker's own spec; "namespace/name" is exact.
func (w Window) Covers(t Target) bool {
	if len(w.Services) == 0 {
		return true
	}
	for _, ref := range w.Services {
		key := types.NamespacedName{Namespace: w.Namespace, Name: ref}
		if ns, name, qualified := strings.Cut(ref, "/"); qualified {
			key = types.NamespacedName{Namespace: ns, Name: name}
		}
		if key == t.Service {
			return true
		}
	}
	return false
}

// compare orders windows by the start of their occurrence, then by name.
func (w Window) compare(o Window) int {
	return cmp.Or(w.Start.Compare(o.Start), cmp.Compare(w.Name, o.Name))
}

// coveredBy names the window shown on target's entry: the first of active (ordered by compare) that covers it.
func coveredBy(active []Window, t Target) string {
	for _, w := range active {
		if w.Covers(t) {
			return w.Name
		}
	}
	return ""
}

// windowEffect is a window that puts the ServiceChecker in maintenance: it covers it whole (critical empty) or
// covers the critical Services listed.
type windowEffect struct {
	window   Window
	critical []string
}

// putInMaintenance returns the windows of active (ordered by compare) that put the ServiceChecker in maintenance:
// those that list no Services, and those that cover a Service it marks critical.
func putInMaintenance(active []Window, targets []Target) []windowEffect {
	var effects []windowEffect
	for _, w := range active {
		if len(w.Services) == 0 {
			effects = append(effects, windowEffect{window: w})
			continue
		}
		var critical []string
		for _, t := range targets {
			if t.Critical && w.Covers(t) {
				critical = append(critical, t.Service.String())
			}
		}
		if len(critical) > 0 {
			effects = append(effects, windowEffect{window: w, critical: critical})
		}
	}
	return effects
}

// windowsMessage is the Maintenance condition's message for the windows that put the ServiceChecker in
// maintenance: each window's name and title, and the critical Services it covers when it lists Services.
func windowsMessage(effects []windowEffect) string {
	const shown = 10
	phrases := make([]string, 0, min(len(effects), shown))
	for _, e := range effects[:min(len(effects), shown)] {
		p := e.window.Name
		if e.window.Title != "" {
			p += fmt.Sprintf(" (%q)", e.window.Title)
		}
		if len(e.critical) > 0 {
			p += " on critical Services " + list(e.critical)
		}
		phrases = append(phrases, p)
	}
	if len(effects) == 1 {
		return "maintenance window " + phrases[0] + " is active"
	}
	msg := "maintenance windows are active: " + strings.Join(phrases, "; ")
	if len(effects) > shown {
		msg += fmt.Sprintf("; and %d more", len(effects)-shown)
	}
	return msg
}

// WindowChange is a MaintenanceWindow that started or stopped covering entries of a ServiceChecker.
type WindowChange struct {
	// Window is the MaintenanceWindow's name.
	Window string
	// Started is true when the window now covers entries it did not, false when it covers none any more.
	Started bool
	// Services are the "<namespace>/<name>" of the entries it covers now (started) or covered before (ended).
	Services []string
}

// WindowChanges compares the maintenanceWindow of prev's entries with next's: a window named on no entry of prev
// and on some of next started covering the ServiceChecker; one named on some of prev and none of next ended.
// Derived from the two statuses alone, it needs no memory in the controller and holds across leader changes and
// failed writes. It follows what the entries show: when overlapping windows cover the same entries, the later
// started is shown, and so starts as far as changes go, only when the earlier one ends; a ServiceChecker without
// entries has no changes. Ended changes come first, then started ones, each ordered by window name.
func WindowChanges(prev, next *v1alpha1.ServiceCheckerStatus) []WindowChange {
	before, after := coverage(prev), coverage(next)
	var changes []WindowChange
	for _, name := range slices.Sorted(maps.Keys(before)) {
		if _, still := after[name]; !still {
			changes = append(changes, WindowChange{Window: name, Services: before[name]})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if _, already := before[name]; !already {
			changes = append(changes, WindowChange{Window: name, Started: true, Services: after[name]})
		}
	}
	return changes
}

// coverage maps each window named on the entries of s to the entries it covers, in entry order.
func coverage(s *v1alpha1.ServiceCheckerStatus) map[string][]string {
	covered := map[string][]string{}
	for _, e := range s.ServiceStatuses {
		if e.MaintenanceWindow != "" {
			covered[e.MaintenanceWindow] = append(covered[e.MaintenanceWindow], e.Namespace+"/"+e.Name)
		}
	}
	return covered
}

// Note is the Event note of the change, naming the window and the entries.
func (c WindowChange) Note() string {
	if c.Started {
		return fmt.Sprintf("MaintenanceWindow %s started; it covers %s", c.Window, list(c.Services))
	}
	return fmt.Sprintf("MaintenanceWindow %s ended; it no longer covers %s", c.Window, list(c.Services))
}
