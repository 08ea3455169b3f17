package source

import (
	"context"
	"fmt"
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

// Cluster reads the ServiceCheckers' status through the Kubernetes API and merges it like the API server does.
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
func (c *Cluster) List(ctx context.Context) ([]snapshot.Entry, error) {
	list, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	return entries(list.Items)
}

// list reads the ServiceCheckers, cluster-wide like the API, or in the fallback namespace when that is forbidden.
func (c *Cluster) list(ctx context.Context) (*v1alpha1.ServiceCheckerList, error) {
	var list v1alpha1.ServiceCheckerList
	err := c.client.List(ctx, &list, client.InNamespace(c.namespace))
	if apierrors.IsForbidden(err) && c.namespace == "" && c.opts.FallbackNamespace != "" {
		c.namespace = c.opts.FallbackNamespace
		if c.opts.Warn != nil {
			c.opts.Warn(fmt.Sprintf("listing ServiceCheckers in all namespaces is forbidden; showing those of "+
				"namespace %s only", c.namespace))
		}
		err = c.client.List(ctx, &list, client.InNamespace(c.namespace))
	}
	if err != nil {
		return nil, c.explain(err, "list")
	}
	return &list, nil
}

// Watch implements Source with a Kubernetes watch on ServiceCheckers, re-listing after every dropped watch.
func (c *Cluster) Watch(ctx context.Context, fn func([]snapshot.Entry)) error {
	return follow(ctx, c.opts.Options, c.watchOnce, fn, func(err error) (bool, error) {
		// API servers end watches every few minutes: a clean end is re-listed quietly, without backoff.
		return err != nil, err
	})
}

func (c *Cluster) watchOnce(ctx context.Context, fn func([]snapshot.Entry)) error {
	list, err := c.list(ctx)
	if err != nil {
		return err
	}
	checkers := make(map[types.NamespacedName]v1alpha1.ServiceChecker, len(list.Items))
	for _, sc := range list.Items {
		checkers[client.ObjectKeyFromObject(&sc)] = sc
	}
	if err := emit(checkers, fn); err != nil {
		return err
	}
	w, err := c.client.Watch(ctx, &v1alpha1.ServiceCheckerList{}, client.InNamespace(c.namespace),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		return c.explain(err, "watch")
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
			if err := emit(checkers, fn); err != nil {
				return err
			}
		}
	}
}

func emit(checkers map[types.NamespacedName]v1alpha1.ServiceChecker, fn func([]snapshot.Entry)) error {
	items := make([]v1alpha1.ServiceChecker, 0, len(checkers))
	for _, sc := range checkers {
		items = append(items, sc) // any order: Build sorts the ServiceCheckers itself
	}
	e, err := entries(items)
	if err != nil {
		return err
	}
	fn(e)
	return nil
}

// entries merges ServiceCheckers exactly as the API's snapshot does.
func entries(items []v1alpha1.ServiceChecker) ([]snapshot.Entry, error) {
	s, err := snapshot.Build(items, 0, time.Time{})
	if err != nil {
		return nil, err
	}
	return s.Entries, nil
}

// explain says what the cluster refused and what to do.
func (c *Cluster) explain(err error, verb string) error {
	where := "in all namespaces"
	if c.namespace != "" {
		where = "in namespace " + c.namespace
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
