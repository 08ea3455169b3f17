package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/checkerstatus"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
	"github.com/mamrezb/maintenance-window-manager/internal/readinessmetrics"
	"github.com/mamrezb/maintenance-window-manager/internal/tenancy"
	"github.com/mamrezb/maintenance-window-manager/internal/windows"
)

// Event reasons recorded on a ServiceChecker when one of its Services changes readiness (Warning when not ready),
// and when a MaintenanceWindow starts or stops covering it (Normal).
const (
	EventServiceReady             = "ServiceReady"
	EventServiceNotReady          = "ServiceNotReady"
	EventMaintenanceWindowStarted = "MaintenanceWindowStarted"
	EventMaintenanceWindowEnded   = "MaintenanceWindowEnded"
)

// ServiceCheckerReconciler writes each ServiceChecker's status from the readiness of its Services and the
// MaintenanceWindows active for it.
type ServiceCheckerReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Metrics  *readinessmetrics.Recorder
	Clock    clock.PassiveClock
	// Tenancy is the cross-namespace policy: set DenyCrossNamespace from --no-cross-namespace-refs;
	// Setup finds out whether the cluster serves ReferenceGrants.
	Tenancy tenancy.Policy
	// StatusCoalesceInterval is how long a status change that only updates endpoint counts may wait, so that a
	// ServiceChecker's counts are written at most once per interval (--status-coalesce-interval; 0 writes at once).
	StatusCoalesceInterval time.Duration

	cache cache.Cache
	log   logr.Logger
	setup struct{ indexed, slicesIndexed, windowsIndexed, tenancyChecked bool }
	// own remembers the statuses this process wrote: their echoes need no reconcile, their times pace
	// StatusCoalesceInterval.
	own ownWrites
}

// +kubebuilder:rbac:groups=maintenance.mamrezb.com,resources=servicecheckers,verbs=get;list;watch
// +kubebuilder:rbac:groups=maintenance.mamrezb.com,resources=servicecheckers/status,verbs=get;update
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=get;list;watch

// Reconcile gathers the Services and EndpointSlices a ServiceChecker lists and the MaintenanceWindows that name it,
// evaluates them at one now, writes the status when it changed, and requeues at the next start or end of one of
// those windows or at the end of a critical Service's grace period (graceUntil), whichever comes first.
func (r *ServiceCheckerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	inputs := r.own.began(req.NamespacedName) // before any read: input events from here on are seen by the echo

	var sc v1alpha1.ServiceChecker
	if err := r.Get(ctx, req.NamespacedName, &sc); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.Forget(req.NamespacedName)
			r.own.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get ServiceChecker %s: %w", req.NamespacedName, err)
	}

	targets := checkerstatus.Targets(&sc)
	verdicts := make(map[types.NamespacedName]readiness.Verdict, len(targets))
	grants := map[string][]gatewayv1beta1.ReferenceGrant{} // per namespace, read once per pass
	for _, t := range targets {
		allowed, err := r.allowed(ctx, sc.Namespace, t.Service, grants)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !allowed {
			// Denied before any read: nothing about the Service, not even its existence, reaches the status.
			verdicts[t.Service] = tenancy.Denied(r.Tenancy, sc.Namespace, t.Service)
			continue
		}
		v, err := r.evaluate(ctx, t)
		if err != nil {
			return ctrl.Result{}, err
		}
		verdicts[t.Service] = v
	}

	now := r.Clock.Now()
	active, boundary, err := r.activeWindows(ctx, &sc, now)
	if err != nil {
		return ctrl.Result{}, err
	}

	prev := sc.Status
	status, transitions := checkerstatus.Build(&prev, sc.Generation, targets, verdicts, active, metav1.NewTime(now))
	// Look again at the next window boundary or the end of a grace period, whichever comes first.
	if g := checkerstatus.NextGraceEnd(&status); !g.IsZero() && (boundary.IsZero() || g.Before(boundary)) {
		boundary = g
	}
	transitioned := make([]types.NamespacedName, 0, len(transitions))
	for _, t := range transitions {
		transitioned = append(transitioned, t.Service)
	}

	changed := !equality.Semantic.DeepEqual(sc.Status, status)
	var countsUntil time.Time
	if changed {
		countsUntil = r.deferCounts(req.NamespacedName, &sc.Status, &status, now)
	}
	switch {
	case !changed:
	case !countsUntil.IsZero():
		// Only endpoint counts changed, and this ServiceChecker's status was written less than
		// StatusCoalesceInterval ago: write the latest counts then, not every step of a scale-up.
		log.V(1).Info("endpoint counts changed; status write coalesced", "until", countsUntil)
		if boundary.IsZero() || countsUntil.Before(boundary) {
			boundary = countsUntil
		}
	default:
		// The status is rebuilt whole, so it replaces the old one (an update, not a merge patch that would drop
		// false and zero values); resourceVersion makes a write based on a stale read fail and retry.
		sc.Status = status
		if err := r.Status().Update(ctx, &sc); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			if apierrors.IsConflict(err) {
				// Our cached copy is older than the server's, whose newer object may be our own previous write
				// (its echo is not always reconciled): try again once the cache has it, with the workqueue's
				// backoff, so a stalled watch does not turn into a stream of failing writes.
				log.V(1).Info("status update conflict; retrying on the newer object")
				return ctrl.Result{Requeue: true}, nil //nolint:staticcheck // a rate-limited retry is what a conflict needs
			}
			return ctrl.Result{}, fmt.Errorf("update status of ServiceChecker %s: %w", req.NamespacedName, err)
		}
		r.own.wrote(req.NamespacedName, sc.ResourceVersion, now, inputs)
		log.V(1).Info("status written", "ready", status.ReadyServices, "total", status.TotalServices,
			"maintenance", status.Maintenance)
	}

	// Events and counters follow the written status, so a failed write is retried without double counting.
	for _, t := range transitions {
		log.Info("service readiness changed", "service", t.Service, "ready", t.Ready, "reason", t.Reason,
			"critical", t.Critical)
		eventType, reason := corev1.EventTypeWarning, EventServiceNotReady
		if t.Ready {
			eventType, reason = corev1.EventTypeNormal, EventServiceReady
		}
		r.Recorder.Eventf(&sc, nil, eventType, reason, "ReadinessChanged", "Service %s: %s", t.Service, t.Message)
	}
	for _, c := range checkerstatus.WindowChanges(&prev, &status) {
		log.Info("maintenance window coverage changed", "window", c.Window, "started", c.Started,
			"services", len(c.Services))
		reason, action := EventMaintenanceWindowEnded, "EndMaintenance"
		if c.Started {
			reason, action = EventMaintenanceWindowStarted, "StartMaintenance"
		}
		window := &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: sc.Namespace, Name: c.Window}}
		r.Recorder.Eventf(&sc, window, corev1.EventTypeNormal, reason, action, "%s", c.Note())
	}
	r.Metrics.Observe(req.NamespacedName, &status, transitioned)
	return requeueAt(boundary, now), nil
}

// activeWindows gathers the MaintenanceWindows of the ServiceChecker's namespace that name it (one index lookup),
// evaluates each one's spec at now with internal/windows (their status is not read: it could lag behind now) and
// returns the active ones, with the earliest instant at which one of them changes (zero: none will by itself).
// Suspended and invalid windows have no effect.
func (r *ServiceCheckerReconciler) activeWindows(ctx context.Context, sc *v1alpha1.ServiceChecker,
	now time.Time) ([]checkerstatus.Window, time.Time, error) {
	var list v1alpha1.MaintenanceWindowList
	// Read only: the cache's own objects, not copies.
	if err := r.List(ctx, &list, client.InNamespace(sc.Namespace), client.MatchingFields{checkerIndex: sc.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, time.Time{}, fmt.Errorf("list MaintenanceWindows naming ServiceChecker %s/%s: %w",
			sc.Namespace, sc.Name, err)
	}
	var active []checkerstatus.Window
	var boundary time.Time
	for i := range list.Items {
		w := &list.Items[i]
		state := windows.Evaluate(windowSpec(&w.Spec), now)
		if b := state.NextBoundary; !b.IsZero() && (boundary.IsZero() || b.Before(boundary)) {
			boundary = b
		}
		if state.Phase == windows.PhaseActive {
			active = append(active, checkerstatus.Window{Namespace: w.Namespace, Name: w.Name, Title: w.Spec.Title,
				Services: w.Spec.Services, Start: state.Current.Start})
		}
	}
	return active, boundary, nil
}

// allowed gathers the ReferenceGrants of the Service's namespace from the cache, when the policy needs them, and
// asks internal/tenancy whether a ServiceChecker of checkerNamespace may read the Service. grants keeps the lists
// already read during this pass.
func (r *ServiceCheckerReconciler) allowed(ctx context.Context, checkerNamespace string, service types.NamespacedName,
	grants map[string][]gatewayv1beta1.ReferenceGrant) (bool, error) {
	p := r.Tenancy
	if !p.DenyCrossNamespace || service.Namespace == checkerNamespace || !p.GrantsInstalled {
		// No grant can change the answer (and without the CRD there is no informer to read them from).
		return tenancy.Allowed(p, checkerNamespace, service, nil), nil
	}
	inNamespace, read := grants[service.Namespace]
	if !read {
		var list gatewayv1beta1.ReferenceGrantList
		if err := r.List(ctx, &list, client.InNamespace(service.Namespace)); err != nil {
			return false, fmt.Errorf("list ReferenceGrants in namespace %s: %w", service.Namespace, err)
		}
		inNamespace = list.Items
		grants[service.Namespace] = inNamespace
	}
	return tenancy.Allowed(p, checkerNamespace, service, inNamespace), nil
}

// evaluate reads one Service and its EndpointSlices from the cache and judges it.
func (r *ServiceCheckerReconciler) evaluate(ctx context.Context, t checkerstatus.Target) (readiness.Verdict, error) {
	var svc corev1.Service
	if err := r.Get(ctx, t.Service, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			return readiness.Evaluate(nil, nil, t.MinReady), nil
		}
		return readiness.Verdict{}, fmt.Errorf("get Service %s: %w", t.Service, err)
	}
	var slices discoveryv1.EndpointSliceList
	// One index lookup, not a scan of the namespace's slices; readiness.Evaluate only reads them, so the cache's
	// own objects are passed instead of deep copies.
	if err := r.List(ctx, &slices, client.InNamespace(t.Service.Namespace),
		client.MatchingFields{sliceServiceIndex: t.Service.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return readiness.Verdict{}, fmt.Errorf("list EndpointSlices of Service %s: %w", t.Service, err)
	}
	return readiness.Evaluate(&svc, slices.Items, t.MinReady), nil
}

// Setup prepares, on every replica, what the controller needs from the manager's shared cache: the field indexes,
// and informers for every kind it watches, so that they stay warm and a standby takes over without listing
// anything. With Tenancy.DenyCrossNamespace it also finds out whether the cluster serves ReferenceGrants (a watch on
// a kind the API server does not know would keep the controller from starting) and sets Tenancy.GrantsInstalled.
// It needs the API server; a failed Setup can be called again: the steps that succeeded are not repeated.
func (r *ServiceCheckerReconciler) Setup(ctx context.Context, mgr ctrl.Manager) error {
	r.cache, r.log = mgr.GetCache(), mgr.GetLogger().WithName("servicechecker")
	if !r.setup.indexed {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.ServiceChecker{}, serviceIndex, indexServices); err != nil {
			return fmt.Errorf("index ServiceCheckers by Service: %w", err)
		}
		r.setup.indexed = true
	}
	if !r.setup.slicesIndexed {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &discoveryv1.EndpointSlice{}, sliceServiceIndex,
			indexSliceService); err != nil {
			return fmt.Errorf("index EndpointSlices by Service: %w", err)
		}
		r.setup.slicesIndexed = true
	}
	if !r.setup.windowsIndexed {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.MaintenanceWindow{}, checkerIndex,
			indexCheckers); err != nil {
			return fmt.Errorf("index MaintenanceWindows by ServiceChecker: %w", err)
		}
		r.setup.windowsIndexed = true
	}
	if r.Tenancy.DenyCrossNamespace && !r.setup.tenancyChecked {
		installed, err := referenceGrantsServed(mgr)
		if err != nil {
			return err
		}
		log := mgr.GetLogger().WithName("tenancy")
		if !installed {
			log.Info("ReferenceGrant CRD not installed: every reference to a Service in another namespace is denied",
				"flag", tenancy.Flag, "fix", "install Gateway API's ReferenceGrant CRD (gateway.networking.k8s.io) "+
					"and restart the manager to let namespaces grant access")
		} else {
			if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.ServiceChecker{}, tenancy.IndexTargetNamespaces,
				indexTargetNamespaces); err != nil {
				return fmt.Errorf("index ServiceCheckers by the namespaces of their Services: %w", err)
			}
			log.Info("cross-namespace references need a ReferenceGrant", "flag", tenancy.Flag)
		}
		r.Tenancy.GrantsInstalled = installed
		r.setup.tenancyChecked = true
	}
	for _, obj := range r.watched() {
		if _, err := r.cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("start the %T informer: %w", obj, err)
		}
	}
	return nil
}

// watched lists the kinds the controller watches.
func (r *ServiceCheckerReconciler) watched() []client.Object {
	objs := []client.Object{&v1alpha1.ServiceChecker{}, &corev1.Service{}, &discoveryv1.EndpointSlice{},
		&v1alpha1.MaintenanceWindow{}}
	if r.Tenancy.GrantsInstalled {
		objs = append(objs, &gatewayv1beta1.ReferenceGrant{})
	}
	return objs
}

// Run builds a fresh controller on the manager's shared cache and reconciles until ctx is done: the leader's work,
// once per term of leadership (see internal/leader). Every ServiceChecker is reconciled at the start of a term; at
// its end the readiness metrics are dropped, since only the leader observes them.
func (r *ServiceCheckerReconciler) Run(ctx context.Context) error {
	defer r.Metrics.Reset()
	return runTerm(ctx, "servicechecker", r, r.log, r.cache, func(termCache cache.Cache) []source.Source {
		sources := []source.Source{
			// Status changes are watched too: they reveal a status edited by hand, or written by an earlier leader.
			// The echo of the controller's own write is not reconciled again when nothing changed since (ownWrites).
			source.Kind[client.Object](termCache, &v1alpha1.ServiceChecker{}, &handler.EnqueueRequestForObject{},
				predicate.Funcs{UpdateFunc: r.own.notEcho}),
			source.Kind[client.Object](termCache, &corev1.Service{},
				handler.EnqueueRequestsFromMapFunc(r.own.noting(r.checkersOf(serviceKey)))),
			source.Kind[client.Object](termCache, &discoveryv1.EndpointSlice{},
				handler.EnqueueRequestsFromMapFunc(r.own.noting(r.checkersOf(sliceServiceKey)))),
			// Only spec changes (and creations, deletions) of a window matter: the ServiceChecker evaluates the spec
			// itself, and its own requeue brings it back at each start and end.
			source.Kind[client.Object](termCache, &v1alpha1.MaintenanceWindow{},
				handler.EnqueueRequestsFromMapFunc(r.own.noting(checkersNamedBy)), predicate.GenerationChangedPredicate{}),
		}
		if r.Tenancy.GrantsInstalled {
			sources = append(sources, source.Kind[client.Object](termCache, &gatewayv1beta1.ReferenceGrant{},
				handler.EnqueueRequestsFromMapFunc(r.own.noting(r.checkersGrantedBy))))
		}
		return sources
	})
}

// deferCounts tells until when the change from prev to next may wait (zero: write now); see
// checkerstatus.DeferCounts.
func (r *ServiceCheckerReconciler) deferCounts(key types.NamespacedName, prev, next *v1alpha1.ServiceCheckerStatus,
	now time.Time) time.Time {
	if r.StatusCoalesceInterval <= 0 || !checkerstatus.CountsOnly(prev, next) {
		return time.Time{}
	}
	return checkerstatus.DeferCounts(r.own.lastWrite(key), r.StatusCoalesceInterval, now)
}

// SetupWithManager runs Setup and adds Run to the manager as a runnable that needs the manager's own leader
// election (the envtest suite and make bench; cmd/manager elects with internal/leader instead).
func (r *ServiceCheckerReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := r.Setup(ctx, mgr); err != nil {
		return err
	}
	return mgr.Add(leaderRunnable(r.Run))
}

// referenceGrantsServed reports whether the API server serves gateway.networking.k8s.io/v1beta1 ReferenceGrants.
func referenceGrantsServed(mgr ctrl.Manager) (bool, error) {
	gvk := schema.GroupVersion{Group: gatewayv1beta1.GroupName, Version: gatewayv1beta1.GroupVersion.Version}.
		WithKind("ReferenceGrant")
	gk := gvk.GroupKind()
	if !mgr.GetScheme().Recognizes(gvk) {
		return false, fmt.Errorf("the manager's scheme lacks %s: add sigs.k8s.io/gateway-api/apis/v1beta1 to it", gk)
	}
	_, err := mgr.GetRESTMapper().RESTMapping(gk, gvk.Version)
	switch {
	case err == nil:
		return true, nil
	case meta.IsNoMatchError(err):
		return false, nil
	default:
		return false, fmt.Errorf("look up the ReferenceGrant API (%s): %w", gk, err)
	}
}
