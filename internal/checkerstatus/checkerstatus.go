package checkerstatus

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/grace"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
)

// Target is one distinct Service a ServiceChecker watches, after namespace defaulting.
type Target struct {
	Service  types.NamespacedName
	Critical bool
	MinReady int32
	// GracePeriod is how long the Service, when critical, must have been not ready before it counts for
	// maintenance: services[].gracePeriod, else spec.gracePeriod.
	GracePeriod time.Duration
}

// Targets returns the distinct Services of a ServiceChecker in spec order. An empty namespace means the
// ServiceChecker's own. Entries that name the same Service only after that defaulting are merged: critical if
// any of them is, the highest minReady and the shortest grace period.
func Targets(sc *v1alpha1.ServiceChecker) []Target {
	var checkerGrace time.Duration
	if sc.Spec.GracePeriod != nil {
		checkerGrace = sc.Spec.GracePeriod.Duration
	}
	targets := make([]Target, 0, len(sc.Spec.Services))
	index := make(map[types.NamespacedName]int, len(sc.Spec.Services))
	for _, ref := range sc.Spec.Services {
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = sc.Namespace
		}
		minReady := max(ref.MinReady, 1)
		period := checkerGrace
		if ref.GracePeriod != nil {
			period = ref.GracePeriod.Duration
		}
		if i, dup := index[key]; dup {
			targets[i].Critical = targets[i].Critical || ref.Critical
			targets[i].MinReady = max(targets[i].MinReady, minReady)
			targets[i].GracePeriod = min(targets[i].GracePeriod, period)
			continue
		}
		index[key] = len(targets)
		targets = append(targets, Target{Service: key, Critical: ref.Critical, MinReady: minReady,
			GracePeriod: period})
	}
	return targets
}

// Transition is a change of one Service's readiness between the previous status and the new one.
// A Service seen for the first time is a transition only when it is not ready.
type Transition struct {
	Service  types.NamespacedName
	Critical bool
	Ready    bool
	Reason   string
	Message  string
}

// Build computes the status of a ServiceChecker at generation from its targets and their verdicts
// (a target without a verdict is treated as not found) and the active MaintenanceWindows that name it (see Window).
// prev supplies transition times: an entry's lastTransitionTime is kept while its ready value stays the same, and
// set to now when it flips.
//
// A critical Service not ready within its grace period (internal/grace, counted from its entry's
// lastTransitionTime) does not count for maintenance: its entry says ready: false and gains graceUntil, and it is
// not among the critical Services not ready of the Maintenance condition until then. Recovery counts at once.
// NextGraceEnd tells when to look again.
//
// Windows never change readiness: ready, the counters and the Ready condition say what the endpoints say. They set
// each covered entry's maintenanceWindow, and put the ServiceChecker in maintenance when one covers it whole or
// covers a Service it marks critical. The Maintenance condition's reason is then MaintenanceWindow even when a
// critical Service is also not ready (the planned work is the likelier cause, and what end users should be told);
// its message names the windows and, after them, the critical Services not ready.
func Build(prev *v1alpha1.ServiceCheckerStatus, generation int64, targets []Target,
	verdicts map[types.NamespacedName]readiness.Verdict, active []Window,
	now metav1.Time) (v1alpha1.ServiceCheckerStatus, []Transition) {
	active = slices.SortedFunc(slices.Values(active), Window.compare)
	previous := make(map[types.NamespacedName]*v1alpha1.ServiceStatus, len(prev.ServiceStatuses))
	for i := range prev.ServiceStatuses {
		s := &prev.ServiceStatuses[i]
		previous[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}

	status := v1alpha1.ServiceCheckerStatus{
		ObservedGeneration: generation,
		ServiceStatuses:    make([]v1alpha1.ServiceStatus, 0, len(targets)),
		TotalServices:      int32(len(targets)),
	}
	var transitions []Transition
	var notReady, criticalNotReady, inGrace []string
	for _, t := range targets {
		v, ok := verdicts[t.Service]
		if !ok {
			v = readiness.Evaluate(nil, nil, t.MinReady)
		}
		entry := v1alpha1.ServiceStatus{
			Name:               t.Service.Name,
			Namespace:          t.Service.Namespace,
			Ready:              v.Ready,
			Critical:           t.Critical,
			ReadyEndpoints:     v.ReadyEndpoints,
			Reason:             v.Reason,
			Message:            v.Message,
			MaintenanceWindow:  coveredBy(active, t),
			LastTransitionTime: now,
		}
		old, seen := previous[t.Service]
		switch {
		case seen && old.Ready == v.Ready:
			entry.LastTransitionTime = old.LastTransitionTime
		case seen || !v.Ready:
			transitions = append(transitions, Transition{Service: t.Service, Critical: t.Critical, Ready: v.Ready,
				Reason: v.Reason, Message: v.Message})
		}
		counts := true
		if t.Critical && !v.Ready {
			notReadySince, recorded := now.Time, time.Time{}
			if seen && !old.Ready {
				notReadySince = old.LastTransitionTime.Time
				if old.GraceUntil != nil {
					recorded = old.GraceUntil.Time
				}
			}
			var until time.Time
			counts, until = grace.Evaluate(notReadySince, t.GracePeriod, recorded, now.Time)
			if !counts {
				entry.GraceUntil = &metav1.Time{Time: until}
			}
		}
		status.ServiceStatuses = append(status.ServiceStatuses, entry)

		if v.Ready {
			status.ReadyServices++
			continue
		}
		notReady = append(notReady, t.Service.String())
		switch {
		case t.Critical && counts:
			criticalNotReady = append(criticalNotReady, t.Service.String())
		case t.Critical:
			inGrace = append(inGrace, fmt.Sprintf("%s (until %s)", t.Service, entry.GraceUntil.UTC().Format(time.RFC3339)))
		}
	}
	inWindows := putInMaintenance(active, targets)
	status.Maintenance = len(criticalNotReady) > 0 || len(inWindows) > 0

	status.Conditions = append([]metav1.Condition(nil), prev.Conditions...)
	// SetStatusCondition keeps the existing lastTransitionTime unless the status flips, and takes ours (not
	// its own time.Now) when it does.
	for _, c := range []metav1.Condition{
		readyCondition(notReady, len(targets), generation),
		maintenanceCondition(inWindows, criticalNotReady, inGrace, generation),
	} {
		c.LastTransitionTime = now
		meta.SetStatusCondition(&status.Conditions, c)
	}
	return status, transitions
}

func readyCondition(notReady []string, total int, generation int64) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: generation}
	if len(notReady) == 0 {
		c.Status = metav1.ConditionTrue
		c.Reason = v1alpha1.ReasonAllServicesReady
		c.Message = fmt.Sprintf("all %d Services are ready", total)
		return c
	}
	c.Status = metav1.ConditionFalse
	c.Reason = v1alpha1.ReasonServicesNotReady
	c.Message = fmt.Sprintf("%d of %d Services not ready: %s", len(notReady), total, list(notReady))
	return c
}

func maintenanceCondition(inWindows []windowEffect, criticalNotReady, inGrace []string,
	generation int64) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionMaintenance, ObservedGeneration: generation}
	if len(inWindows) > 0 {
		c.Status = metav1.ConditionTrue
		c.Reason = v1alpha1.ReasonMaintenanceWindow
		c.Message = windowsMessage(inWindows)
		if len(criticalNotReady) > 0 {
			c.Message += "; critical Services not ready: " + list(criticalNotReady)
		}
		return c
	}
	if len(criticalNotReady) == 0 && len(inGrace) > 0 {
		c.Status = metav1.ConditionFalse
		c.Reason = v1alpha1.ReasonWithinGracePeriod
		c.Message = "critical Services not ready within their grace period: " + list(inGrace)
		return c
	}
	if len(criticalNotReady) == 0 {
		c.Status = metav1.ConditionFalse
		c.Reason = v1alpha1.ReasonCriticalServicesReady
		c.Message = "every critical Service is ready"
		return c
	}
	c.Status = metav1.ConditionTrue
	c.Reason = v1alpha1.ReasonCriticalServiceNotReady
	c.Message = "critical Services not ready: " + list(criticalNotReady)
	return c
}

// NextGraceEnd is the earliest graceUntil of status's entries: when a critical Service in its grace period starts
// to count for maintenance unless it recovers first. Zero when no entry has one.
func NextGraceEnd(status *v1alpha1.ServiceCheckerStatus) time.Time {
	var next time.Time
	for _, e := range status.ServiceStatuses {
		if e.GraceUntil != nil && (next.IsZero() || e.GraceUntil.Time.Before(next)) {
			next = e.GraceUntil.Time
		}
	}
	return next
}

// list joins keys for a condition message, bounded so a 256-entry ServiceChecker keeps a readable message.
func list(keys []string) string {
	const shown = 10
	if len(keys) <= shown {
		return strings.Join(keys, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(keys[:shown], ", "), len(keys)-shown)
}
