package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/checkerstatus"
	"github.com/mamrezb/maintenance-window-manager/internal/readiness"
	"github.com/mamrezb/maintenance-window-manager/internal/readinessmetrics"
)

// Event reasons recorded on a ServiceChecker when one of its Services changes readiness.
const (
	EventServiceReady    = "ServiceReady"
	EventServiceNotReady = "ServiceNotReady"
)

// ServiceCheckerReconciler writes each ServiceChecker's status from the readiness of its Services.
type ServiceCheckerReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Metrics  *readinessmetrics.Recorder
	Clock    clock.PassiveClock
}

// +kubebuilder:rbac:groups=maintenance.mamrezb.com,resources=servicecheckers,verbs=get;list;watch
// +kubebuilder:rbac:groups=maintenance.mamrezb.com,resources=servicecheckers/status,verbs=get;update
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile gathers the Services and EndpointSlices a ServiceChecker lists, evaluates them and writes the
// status when it changed.
func (r *ServiceCheckerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)

	var sc v1alpha1.ServiceChecker
	if err := r.Get(ctx, req.NamespacedName, &sc); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.Forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get ServiceChecker %s: %w", req.NamespacedName, err)
	}

	targets := checkerstatus.Targets(&sc)
	verdicts := make(map[types.NamespacedName]readiness.Verdict, len(targets))
	for _, t := range targets {
		v, err := r.evaluate(ctx, t)
		if err != nil {
			return ctrl.Result{}, err
		}
		verdicts[t.Service] = v
	}

	status, transitions := checkerstatus.Build(&sc.Status, sc.Generation, targets, verdicts,
		metav1.NewTime(r.Clock.Now()))
	transitioned := make([]types.NamespacedName, 0, len(transitions))
	for _, t := range transitions {
		transitioned = append(transitioned, t.Service)
	}

	if !equality.Semantic.DeepEqual(sc.Status, status) {
		// The status is rebuilt whole, so it replaces the old one (an update, not a merge patch that would drop
		// false and zero values); resourceVersion makes a write based on a stale read fail and retry.
		sc.Status = status
		if err := r.Status().Update(ctx, &sc); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			if apierrors.IsConflict(err) {
				// Our cached copy is older than the server's: the watch event of the newer object brings us back
				// (status changes are watched), so there is nothing to retry here.
				log.V(1).Info("status update conflict; waiting for the newer object")
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("update status of ServiceChecker %s: %w", req.NamespacedName, err)
		}
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
	r.Metrics.Observe(req.NamespacedName, &status, transitioned)
	return ctrl.Result{}, nil
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
	if err := r.List(ctx, &slices, client.InNamespace(t.Service.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: t.Service.Name}); err != nil {
		return readiness.Verdict{}, fmt.Errorf("list EndpointSlices of Service %s: %w", t.Service, err)
	}
	return readiness.Evaluate(&svc, slices.Items, t.MinReady), nil
}

// SetupWithManager registers the field index and the watches.
func (r *ServiceCheckerReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.ServiceChecker{}, serviceIndex, indexServices); err != nil {
		return fmt.Errorf("index ServiceCheckers by Service: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		// Status changes are watched too: they are the controller's own writes, which make no further write, but
		// they also reveal a status that went stale between a write and the cache catching up, or was edited by hand.
		For(&v1alpha1.ServiceChecker{}).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.checkersOf(serviceKey))).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.checkersOf(sliceServiceKey))).
		Named("servicechecker").
		Complete(r)
}
