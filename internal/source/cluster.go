package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// ClusterOptions configure the cluster source.
type ClusterOptions struct {
	// Config reaches the API server (from the kubeconfig flags).
	Config *rest.Config
	// FallbackNamespace is listed when listing in all namespaces is forbidden: the kubeconfig context's namespace.
	FallbackNamespace string
	Options
}

// Cluster reads the ServiceCheckers' status through the Kubernetes API and selects from it with the API's own rules
// (internal/snapshot).
type Cluster struct {
	client client.WithWatch
	opts   ClusterOptions
	// namespace is "" (all) until listing all namespaces was forbidden.
	namespace string
}

// NewCluster creates the client.
func NewCluster(opts ClusterOptions) (*Cluster, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create a Kubernetes client for %s: %w", opts.Config.Host, err)
	}
	return &Cluster{client: c, opts: opts}, nil
}

// List implements Source.
// Read straight from the API server, the data is always fresh.
func (c *Cluster) List(ctx context.Context, sel selection.Selection) (View, error) {
	list, err := c.list(ctx, sel)
	if err != nil {
		return View{}, err
	}
	snap, err := c.snapshot(list.Items, c.windows(ctx, sel))
	if err != nil {
		return View{}, err
	}
	entries, err := c.selectFrom(snap, sel)
	if err != nil {
		return View{}, err
	}
	status, err := snap.Status(sel, time.Now())
	return View{Entries: entries, Status: status}, err
}

// windows lists the MaintenanceWindows in the scope of the selection. They only add the windows' effect on the
// answer: when they cannot be read (RBAC, an older install without the CRD), the answer goes on without them, with a
// note.
func (c *Cluster) windows(ctx context.Context, sel selection.Selection) []v1alpha1.MaintenanceWindow {
	var list v1alpha1.MaintenanceWindowList
	namespace := c.scope(sel)
	if err := c.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		if c.opts.Warn != nil {
			c.opts.Warn("MaintenanceWindows not read (" + c.explain(err, "list", namespace).Error() + "); the " +
				"answer leaves planned maintenance out")
		}
		return nil
	}
	return list.Items
}

// list reads the ServiceCheckers: with a checker, those of its namespace (which namespace-scoped rights allow);
// otherwise cluster-wide like the API, or in the fallback namespace when that is forbidden.
func (c *Cluster) list(ctx context.Context, sel selection.Selection) (*v1alpha1.ServiceCheckerList, error) {
	var list v1alpha1.ServiceCheckerList
	namespace := c.scope(sel)
	err := c.client.List(ctx, &list, client.InNamespace(namespace))
	if apierrors.IsForbidden(err) && namespace == "" && c.opts.FallbackNamespace != "" {
		c.namespace = c.opts.FallbackNamespace
		if c.opts.Warn != nil {
			c.opts.Warn(fmt.Sprintf("listing ServiceCheckers in all namespaces is forbidden; showing those of "+
				"namespace %s only", c.namespace))
		}
		namespace = c.namespace
		err = c.client.List(ctx, &list, client.InNamespace(namespace))
	}
	if err != nil {
		return nil, c.explain(err, "list", namespace)
	}
	return &list, nil
}

// scope is the namespace to list and watch ServiceCheckers in ("" for all).
func (c *Cluster) scope(sel selection.Selection) string {
	if ns, _, found := strings.Cut(sel.Checker, "/"); found {
		return ns
	}
	return c.namespace
}

// Watch implements Source with a Kubernetes watch on ServiceCheckers, re-listing after every dropped watch.
func (c *Cluster) Watch(ctx context.Context, sel selection.Selection, fn func(View)) error {
	connected := false
	connect := func(ctx context.Context, fn func(View)) error {
		return c.watchOnce(ctx, sel, &connected, fn)
	}
	return follow(ctx, c.opts.Options, connect, fn, func(err error) (bool, error) {
		// API servers end watches every few minutes: a clean end is re-listed quietly, without backoff.
		return err != nil, err
	})
}

// watchOnce lists and then watches until the watch ends. connected tells whether a list was ever delivered: a
// ServiceChecker selected by --checker that is deleted afterwards yields an empty list, not an error.
func (c *Cluster) watchOnce(ctx context.Context, sel selection.Selection, connected *bool, fn func(View)) error {
	list, err := c.list(ctx, sel)
	if err != nil {
		return err
	}
	checkers := make(map[types.NamespacedName]v1alpha1.ServiceChecker, len(list.Items))
	for _, sc := range list.Items {
		checkers[client.ObjectKeyFromObject(&sc)] = sc
	}
	emit := func() error {
		items := make([]v1alpha1.ServiceChecker, 0, len(checkers))
		for _, sc := range checkers {
			items = append(items, sc) // any order: the snapshot sorts
		}
		e, err := c.entries(items, sel)
		var notFound *snapshot.CheckerNotFoundError
		if errors.As(err, &notFound) && *connected {
			e, err = nil, nil
		}
		if err != nil {
			return err
		}
		*connected = true
		fn(View{Entries: e})
		return nil
	}
	if err := emit(); err != nil {
		return err
	}
	namespace := c.scope(sel)
	w, err := c.client.Watch(ctx, &v1alpha1.ServiceCheckerList{}, client.InNamespace(namespace),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		return c.explain(err, "watch", namespace)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			switch ev.Type {
			case watch.Error:
				return fmt.Errorf("watch ServiceCheckers: %w", apierrors.FromObject(ev.Object))
			case watch.Added, watch.Modified:
				if sc, ok := ev.Object.(*v1alpha1.ServiceChecker); ok {
					checkers[client.ObjectKeyFromObject(sc)] = *sc
				}
			case watch.Deleted:
				if sc, ok := ev.Object.(*v1alpha1.ServiceChecker); ok {
					delete(checkers, client.ObjectKeyFromObject(sc))
				}
			default:
				continue
			}
			if err := emit(); err != nil {
				return err
			}
		}
	}
}

// entries selects from ServiceCheckers exactly as the API's snapshot does.
func (c *Cluster) entries(items []v1alpha1.ServiceChecker, sel selection.Selection) ([]snapshot.Entry, error) {
	s, err := c.snapshot(items, nil)
	if err != nil {
		return nil, err
	}
	return c.selectFrom(s, sel)
}

func (c *Cluster) snapshot(items []v1alpha1.ServiceChecker, windows []v1alpha1.MaintenanceWindow) (*snapshot.Snapshot, error) {
	return snapshot.BuildWithWindows(items, windows, 0, time.Time{})
}

func (c *Cluster) selectFrom(s *snapshot.Snapshot, sel selection.Selection) ([]snapshot.Entry, error) {
	view, err := s.Select(sel)
	var notFound *snapshot.CheckerNotFoundError
	if errors.As(err, &notFound) {
		return nil, fmt.Errorf("ServiceChecker %s not found in the cluster at %s; check --checker for a typo "+
			"(kubectl get svcchk -A lists them)", sel.Checker, c.opts.Config.Host)
	}
	return view.Entries, err
}

// explain says what the cluster refused and what to do.
func (c *Cluster) explain(err error, verb, namespace string) error {
	where := "in all namespaces"
	if namespace != "" {
		where = "in namespace " + namespace
	}
	resource := "servicecheckers.maintenance.mamrezb.com"
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return fmt.Errorf("the ServiceChecker CRD (%s) is not installed in the cluster at %s; install the operator "+
			"first (see the README: Install)", resource, c.opts.Config.Host)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the cluster denied %s %s %s (%w); ask an admin to bind the "+
			"maintenance-window-manager-servicechecker-viewer-role ClusterRole to you", verb, resource, where, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster at %s did not accept your credentials (401) to %s %s: refresh them or pick "+
			"another --context", c.opts.Config.Host, verb, resource)
	}
	return fmt.Errorf("%s %s %s at %s: %w", verb, resource, where, c.opts.Config.Host, err)
}
