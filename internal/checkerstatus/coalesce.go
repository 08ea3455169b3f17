package checkerstatus

import (
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// CountsOnly reports whether next differs from prev only in endpoint counts: the readyEndpoints of Services, and
// the message that states them, while every Service keeps its readiness, reason, window, grace and transition
// time, and the counters and conditions are unchanged. A Deployment scaling 3 -> 4 -> 3 changes nothing else.
func CountsOnly(prev, next *v1alpha1.ServiceCheckerStatus) bool {
	if len(prev.ServiceStatuses) != len(next.ServiceStatuses) {
		return false
	}
	// Compare next with prev's counts put back: equal means the counts were all that differed.
	withPrevCounts := *next
	withPrevCounts.ServiceStatuses = make([]v1alpha1.ServiceStatus, len(next.ServiceStatuses))
	for i, n := range next.ServiceStatuses {
		p := prev.ServiceStatuses[i]
		if p.Namespace == n.Namespace && p.Name == n.Name && p.Reason == n.Reason {
			n.ReadyEndpoints, n.Message = p.ReadyEndpoints, p.Message
		}
		withPrevCounts.ServiceStatuses[i] = n
	}
	return equality.Semantic.DeepEqual(*prev, withPrevCounts)
}

// DeferCounts tells until when a status change that only updates endpoint counts (CountsOnly) may wait, so that a
// ServiceChecker's counts are written at most once per interval however often its endpoints scale: zero means
// write now. lastWrite is when this process last wrote this ServiceChecker's status (zero: never); interval 0
// writes every change at once. Readiness flips, window boundaries and grace expiries are never CountsOnly, so they
// never wait.
func DeferCounts(lastWrite time.Time, interval time.Duration, now time.Time) time.Time {
	if interval <= 0 || lastWrite.IsZero() {
		return time.Time{}
	}
	if due := lastWrite.Add(interval); now.Before(due) {
		return due
	}
	return time.Time{}
}
