package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/windows"
)

// defaultAnnounce is spec.announce's default (the CRD's marker), for a window read before defaulting.
const defaultAnnounce = 24 * time.Hour

// MaintenanceWindowReconciler writes each MaintenanceWindow's status: its phase, current and next occurrences and
// the Valid condition, as internal/windows computes them at the clock's now. It requeues at the next boundary
// (a start, an end, the start of the announcement), never polls. The effect of a window on ServiceCheckers is the
// ServiceChecker reconciler's, which evaluates the window's spec itself rather than reading this status.
type MaintenanceWindowReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Metrics  *WindowMetrics
	Clock    clock.PassiveClock

	cache cache.Cache
	log   logr.Logger
}

// Reconcile evaluates a MaintenanceWindow at now and writes its status when it changed.
func (r *MaintenanceWindowReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)

	var mw v1alpha1.MaintenanceWindow
	if err := r.Get(ctx, req.NamespacedName, &mw); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.Forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get MaintenanceWindow %s: %w", req.NamespacedName, err)
	}

	now := r.Clock.Now()
	spec := windowSpec(&mw.Spec)
	state := windows.Evaluate(spec, now)
	prev := mw.Status
	status := windowStatus(&prev, mw.Generation, spec, state, metav1.NewTime(now))

	if !equality.Semantic.DeepEqual(prev, status) {
		mw.Status = status
		if err := r.Status().Update(ctx, &mw); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			if apierrors.IsConflict(err) {
				// The watch event of the newer object brings us back.
				log.V(1).Info("status update conflict; waiting for the newer object")
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("update status of MaintenanceWindow %s: %w", req.NamespacedName, err)
		}
		log.Info("maintenance window status written", "phase", status.Phase, "start", status.Start,
			"end", status.End, "nextBoundary", state.NextBoundary)
	}

	// The Event follows the written status, so a failed write is retried without a second Event.
	if becameInvalid(&prev, &status) {
		r.Recorder.Eventf(&mw, nil, corev1.EventTypeWarning, state.Reason, "Validate", "%s", state.Message)
	}
	r.Metrics.Observe(req.NamespacedName, state.Phase == windows.PhaseActive)
	return requeueAt(state.NextBoundary, now), nil
}

// windowSpec converts a MaintenanceWindow's spec for internal/windows, applying spec.announce's default.
func windowSpec(s *v1alpha1.MaintenanceWindowSpec) windows.Spec {
	spec := windows.Spec{Schedule: s.Schedule, TimeZone: s.TimeZone, Announce: defaultAnnounce, Suspend: s.Suspend}
	if s.Start != nil {
		spec.Start = ptr.To(s.Start.Time)
	}
	if s.End != nil {
		spec.End = ptr.To(s.End.Time)
	}
	if s.Duration != nil {
		spec.Duration = s.Duration.Duration
	}
	if s.Announce != nil {
		spec.Announce = s.Announce.Duration
	}
	return spec
}

// windowStatus is the status of a window at generation in state, keeping prev's condition transition times.
// Times are UTC to the second, as the API server stores them, so that an unchanged status compares equal.
func windowStatus(prev *v1alpha1.MaintenanceWindowStatus, generation int64, spec windows.Spec, state windows.State,
	now metav1.Time) v1alpha1.MaintenanceWindowStatus {
	status := v1alpha1.MaintenanceWindowStatus{
		ObservedGeneration: generation,
		Phase:              v1alpha1.MaintenanceWindowPhase(state.Phase),
	}
	if state.Current != nil {
		status.Current = occurrence(*state.Current)
	}
	for _, o := range state.Next[:min(len(state.Next), 3)] {
		status.Next = append(status.Next, *occurrence(o))
	}
	switch {
	case status.Current != nil:
		status.Start, status.End = &status.Current.Start, status.Current.End
	case len(status.Next) > 0:
		status.Start, status.End = &status.Next[0].Start, status.Next[0].End
	case state.Phase == windows.PhaseCompleted && spec.Start != nil:
		// The one-off occurrence that ended: what the START and END columns keep showing.
		ended := windows.Occurrence{Start: *spec.Start, End: spec.End}
		if ended.End == nil {
			ended.End = ptr.To(spec.Start.Add(spec.Duration))
		}
		o := occurrence(ended)
		status.Start, status.End = &o.Start, o.End
	}

	valid := metav1.Condition{Type: v1alpha1.ConditionValid, Status: metav1.ConditionTrue,
		Reason: v1alpha1.ReasonValid, Message: "the window's occurrences can be computed",
		ObservedGeneration: generation, LastTransitionTime: now}
	if state.Phase == windows.PhaseInvalid {
		valid.Status, valid.Reason, valid.Message = metav1.ConditionFalse, state.Reason, state.Message
	}
	status.Conditions = append([]metav1.Condition(nil), prev.Conditions...)
	meta.SetStatusCondition(&status.Conditions, valid)
	return status
}

func occurrence(o windows.Occurrence) *v1alpha1.Occurrence {
	out := &v1alpha1.Occurrence{Start: metav1.NewTime(o.Start.UTC().Truncate(time.Second))}
	if o.End != nil {
		out.End = ptr.To(metav1.NewTime(o.End.UTC().Truncate(time.Second)))
	}
	return out
}

// becameInvalid reports whether next's Valid condition is False with a reason or message that prev did not have:
// the window just became invalid, or invalid in another way.
func becameInvalid(prev, next *v1alpha1.MaintenanceWindowStatus) bool {
	now := meta.FindStatusCondition(next.Conditions, v1alpha1.ConditionValid)
	if now == nil || now.Status != metav1.ConditionFalse {
		return false
	}
	before := meta.FindStatusCondition(prev.Conditions, v1alpha1.ConditionValid)
	return before == nil || before.Status != metav1.ConditionFalse || before.Reason != now.Reason ||
		before.Message != now.Message
}

// requeueAt is the result that brings the object back at boundary; none when boundary is zero (nothing changes
// without a change of the spec, which the watch reports).
func requeueAt(boundary, now time.Time) ctrl.Result {
	if boundary.IsZero() {
		return ctrl.Result{}
	}
	// internal/windows puts boundaries after now; a millisecond floor guards against a clock that moved back.
	return ctrl.Result{RequeueAfter: max(boundary.Sub(now), time.Millisecond)}
}

// Setup prepares, on every replica, the MaintenanceWindow informer on the manager's shared cache, so that it
// stays warm and a standby takes over without listing anything.
func (r *MaintenanceWindowReconciler) Setup(ctx context.Context, mgr ctrl.Manager) error {
	r.cache, r.log = mgr.GetCache(), mgr.GetLogger().WithName("maintenancewindow")
	if _, err := r.cache.GetInformer(ctx, &v1alpha1.MaintenanceWindow{}, cache.BlockUntilSynced(false)); err != nil {
		return fmt.Errorf("start the MaintenanceWindow informer: %w", err)
	}
	return nil
}

// Run builds a fresh controller on the manager's shared cache and reconciles until ctx is done: the leader's work,
// once per term of leadership (see internal/leader). Every MaintenanceWindow is reconciled at the start of a term;
// at its end mwm_maintenance_window_active is dropped, since only the leader evaluates the windows.
func (r *MaintenanceWindowReconciler) Run(ctx context.Context) error {
	defer r.Metrics.Reset()
	return runTerm(ctx, "maintenancewindow", r, r.log, r.cache, func(termCache cache.Cache) []source.Source {
		return []source.Source{source.Kind[client.Object](termCache, &v1alpha1.MaintenanceWindow{},
			&handler.EnqueueRequestForObject{})}
	})
}

// SetupWithManager runs Setup and adds Run to the manager as a runnable that needs the manager's own leader
// election (the envtest suite; cmd/manager elects with internal/leader instead).
func (r *MaintenanceWindowReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := r.Setup(ctx, mgr); err != nil {
		return err
	}
	return mgr.Add(leaderRunnable(r.Run))
}
