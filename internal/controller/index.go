package controller

import (
	"context"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/checkerstatus"
	"github.com/mamrezb/maintenance-window-manager/internal/tenancy"
)

// serviceIndex indexes ServiceCheckers by the "<namespace>/<name>" of every Service they list, so an event
// on a Service or EndpointSlice costs one index lookup, whatever the number of ServiceCheckers.
const serviceIndex = "spec.services.key"

func indexServices(obj client.Object) []string {
	sc := obj.(*v1alpha1.ServiceChecker)
	targets := checkerstatus.Targets(sc)
	keys := make([]string, 0, len(targets))
	for _, t := range targets {
		keys = append(keys, t.Service.String())
	}
	return keys
}

// sliceServiceIndex indexes EndpointSlices by the name of their Service (the kubernetes.io/service-name label), so
// judging a Service reads its slices with one lookup instead of filtering every slice of its namespace.
const sliceServiceIndex = "metadata.labels.service-name"

func indexSliceService(obj client.Object) []string {
	if name := obj.GetLabels()[discoveryv1.LabelServiceName]; name != "" {
		return []string{name}
	}
	return nil
}

// checkerIndex indexes MaintenanceWindows by the name of every ServiceChecker they name (spec.checkers, all in
// the window's namespace), so a ServiceChecker finds its windows with one lookup.
const checkerIndex = "spec.checkers"

func indexCheckers(obj client.Object) []string {
	return obj.(*v1alpha1.MaintenanceWindow).Spec.Checkers
}

// checkersNamedBy maps a MaintenanceWindow to the ServiceCheckers it names, in its namespace. An update is mapped
// for the old and the new object, so a ServiceChecker a window no longer names is reconciled too.
func checkersNamedBy(_ context.Context, obj client.Object) []ctrl.Request {
	w, ok := obj.(*v1alpha1.MaintenanceWindow)
	if !ok {
		return nil
	}
	requests := make([]ctrl.Request, 0, len(w.Spec.Checkers))
	for _, name := range w.Spec.Checkers {
		requests = append(requests, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.Namespace, Name: name}})
	}
	return requests
}

// serviceKey is the Service an event on a Service concerns.
func serviceKey(obj client.Object) (types.NamespacedName, bool) {
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}, true
}

// sliceServiceKey is the Service an EndpointSlice belongs to, from its kubernetes.io/service-name label.
func sliceServiceKey(obj client.Object) (types.NamespacedName, bool) {
	name, ok := obj.GetLabels()[discoveryv1.LabelServiceName]
	if !ok || name == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}, true
}

// serviceOf names the Service an object concerns, if any.
type serviceOf func(client.Object) (types.NamespacedName, bool)

// checkersOf maps an object to the ServiceCheckers that list the Service it concerns.
func (r *ServiceCheckerReconciler) checkersOf(service serviceOf) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []ctrl.Request {
		key, ok := service(obj)
		if !ok {
			return nil
		}
		var checkers v1alpha1.ServiceCheckerList
		// Only names are read: no deep copy of each ServiceChecker and its status.
		if err := r.List(ctx, &checkers, client.MatchingFields{serviceIndex: key.String()},
			client.UnsafeDisableDeepCopy); err != nil {
			logf.FromContext(ctx).Error(err, "list ServiceCheckers by Service index", "service", key)
			return nil
		}
		requests := make([]ctrl.Request, 0, len(checkers.Items))
		for i := range checkers.Items {
			requests = append(requests, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&checkers.Items[i])})
		}
		return requests
	}
}

func indexTargetNamespaces(obj client.Object) []string {
	return tenancy.TargetNamespaces(obj.(*v1alpha1.ServiceChecker))
}

// checkersGrantedBy maps a ReferenceGrant to the ServiceCheckers whose verdicts it can change: those of each
// namespace it grants to that list a Service in the grant's namespace. One indexed lookup per from-namespace;
// an update is mapped for both the old and the new grant, so access taken away is seen too.
func (r *ServiceCheckerReconciler) checkersGrantedBy(ctx context.Context, obj client.Object) []ctrl.Request {
	grant, ok := obj.(*gatewayv1beta1.ReferenceGrant)
	if !ok {
		return nil
	}
	var requests []ctrl.Request
	for _, ns := range tenancy.FromNamespaces(grant) {
		var checkers v1alpha1.ServiceCheckerList
		if err := r.List(ctx, &checkers, client.InNamespace(ns),
			client.MatchingFields{tenancy.IndexTargetNamespaces: grant.Namespace}); err != nil {
			logf.FromContext(ctx).Error(err, "list ServiceCheckers by target namespace index", "namespace", ns,
				"referenceGrant", client.ObjectKeyFromObject(grant))
			continue
		}
		for i := range checkers.Items {
			requests = append(requests, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&checkers.Items[i])})
		}
	}
	return requests
}
