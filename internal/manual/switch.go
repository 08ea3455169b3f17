package manual

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// Switch writes MaintenanceWindows through a kubeconfig: the user's own rights decide.
type Switch struct {
	client client.Client
	host   string
}

// NewSwitch creates the client.
func NewSwitch(cfg *rest.Config) (*Switch, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create a Kubernetes client for %s: %w", cfg.Host, err)
	}
	return &Switch{client: c, host: cfg.Host}, nil
}

// Host is the API server written to.
func (s *Switch) Host() string { return s.host }

// Checker reads the ServiceChecker namespace/name. A ServiceChecker that does not exist is an error; one the user
// may not read is not (nil, nil): writing windows needs no right on ServiceCheckers.
func (s *Switch) Checker(ctx context.Context, namespace, name string) (*v1alpha1.ServiceChecker, error) {
	var sc v1alpha1.ServiceChecker
	err := s.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &sc)
	switch {
	case err == nil:
		return &sc, nil
	case apierrors.IsForbidden(err):
		return nil, nil
	case apierrors.IsNotFound(err) && !meta.IsNoMatchError(err):
		return nil, fmt.Errorf("ServiceChecker %s/%s not found in the cluster at %s; check the name and -n "+
			"(kubectl get svcchk -n %s lists them)", namespace, name, s.host, namespace)
	}
	return nil, s.explain(err, "get", checkersResource, namespace)
}

// On creates the window of r starting at now.
func (s *Switch) On(ctx context.Context, r Request, now time.Time) (*v1alpha1.MaintenanceWindow, error) {
	w := NewWindow(r, now)
	if err := s.client.Create(ctx, w); err != nil {
		return nil, s.explain(err, "create", windowsResource, r.Namespace)
	}
	return w, nil
}

// Off ends the active one-off windows naming the ServiceChecker namespace/checker at now, and returns what it ended
// and the active recurring windows it left. On an error, the plan holds what was ended before it.
func (s *Switch) Off(ctx context.Context, namespace, checker string, now time.Time) (Plan, error) {
	var list v1alpha1.MaintenanceWindowList
	if err := s.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return Plan{}, s.explain(err, "list", windowsResource, namespace)
	}
	plan := PlanOff(list.Items, checker, now)
	done := Plan{Keep: plan.Keep}
	for _, e := range plan.End {
		ended, err := s.end(ctx, e, checker, now)
		if err != nil {
			return done, err
		}
		if ended != nil {
			done.End = append(done.End, *ended)
		}
	}
	return done, nil
}

// end writes the end of one window (and drops a duration, which excludes end), guarded by its resourceVersion; on a
// conflict it reads the window again and ends it if it is still active. nil: it ended or went away meanwhile.
func (s *Switch) end(ctx context.Context, e Ending, checker string, now time.Time) (*Ending, error) {
	w := e.Window
	var ended *Ending
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ended = nil
		if w.ResourceVersion != e.Window.ResourceVersion { // a retry: judge the window as it is now
			plan := PlanOff([]v1alpha1.MaintenanceWindow{w}, checker, now)
			if len(plan.End) == 0 {
				return nil
			}
			e = plan.End[0]
		}
		patched := w.DeepCopy()
		patched.Spec.End = ptr.To(metav1.NewTime(e.End))
		patched.Spec.Duration = nil
		err := s.client.Patch(ctx, patched, client.MergeFromWithOptions(&w, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsConflict(err) {
			if gerr := s.client.Get(ctx, client.ObjectKeyFromObject(&w), &w); gerr != nil {
				return gerr
			}
			return err
		}
		if err == nil {
			ended = &Ending{Window: *patched, End: e.End}
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, nil // deleted meanwhile: nothing left to end
	}
	if err != nil {
		return nil, s.explain(err, "patch", windowsResource, w.Namespace)
	}
	return ended, nil
}

// The resources written and read, as explain names them, with the ClusterRole that grants the rights.
var (
	checkersResource = resource{name: "servicecheckers.maintenance.mamrezb.com", kind: "ServiceChecker",
		role: "maintenance-window-manager-servicechecker-viewer-role"}
	windowsResource = resource{name: "maintenancewindows.maintenance.mamrezb.com", kind: "MaintenanceWindow",
		role: "maintenance-window-manager-maintenancewindow-editor-role"}
)

type resource struct{ name, kind, role string }

// explain says what the cluster refused and what to do.
func (s *Switch) explain(err error, verb string, r resource, namespace string) error {
	var status apierrors.APIStatus
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return fmt.Errorf("the %s CRD (%s) is not installed in the cluster at %s; install (or upgrade) the "+
			"operator first (see the README: Install)", r.kind, r.name, s.host)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the cluster at %s denied %s %s in namespace %s (%s); ask an admin to bind the %s "+
			"ClusterRole to you in namespace %s (a RoleBinding)", s.host, verb, r.name, namespace, reason(err), r.role,
			namespace)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster at %s did not accept your credentials (401) to %s %s: refresh them or pick "+
			"another --context", s.host, verb, r.name)
	case apierrors.IsInvalid(err) && errors.As(err, &status):
		return fmt.Errorf("the cluster at %s rejected the %s: %s", s.host, r.kind, status.Status().Message)
	}
	return fmt.Errorf("%s %s in namespace %s at %s: %w; check that the cluster is reachable (--kubeconfig, "+
		"--context)", verb, r.name, namespace, s.host, err)
}

// reason is the API server's message of a refusal, which names the user.
func reason(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}
