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
	// warnedWindows is set once the user was told that MaintenanceWindows cannot be read.
	warnedWindows bool
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
	var windows []v1alpha1.MaintenanceWindow
	if w, ok := c.windows(ctx, sel); ok {
		windows = w.Items
	}
	snap, err := c.snapshot(list.Items, windows)
	if err != nil {
		return View{}, err
	}
	v, err := view(snap, sel, time.Now())
	if err != nil {
		return View{}, c.selectError(sel, err)
	}
	return v, nil
}

// view is what the API answers for sel from a snapshot at now: the entries and the /status answer.
func view(s *snapshot.Snapshot, sel selection.Selection, now time.Time) (View, error) {
	selected, err := s.Select(sel)
	if err != nil {
		return View{}, err
	}
	status, err := s.Status(sel, now)
	if err != nil {
		return View{}, err
	}
	return View{Entries: selected.Entries, Status: status, StatusKnown: true}, nil
}

// windows lists the MaintenanceWindows in the scope of the selection. They only add the windows' effect on the
// answer: when they cannot be read (RBAC, an older install without the CRD), the answer goes on without them, with a
// note (once).
func (c *Cluster) windows(ctx context.Context, sel selection.Selection) (*v1alpha1.MaintenanceWindowList, bool) {
	var list v1alpha1.MaintenanceWindowList
	namespace := c.scope(sel)
	if err := c.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		if c.opts.Warn != nil && !c.warnedWindows {
			c.warnedWindows = true
			c.opts.Warn("MaintenanceWindows not read (" + c.explainFor(windowsResource, err, "list", namespace).Error() +
				"); the answer leaves planned maintenance out")
		}
		return nil, false
	}
	return &list, true
}

// Windows implements Source: the MaintenanceWindows of the selection, converted and filtered as the API does. A
// checker that does not exist is an error, as GET /windows?checker= answers 404.
func (c *Cluster) Windows(ctx context.Context, sel selection.Selection) ([]snapshot.Window, error) {
	namespace := ""
	if len(sel.Namespaces) == 1 {
		namespace = sel.Namespaces[0]
	}
	if ns, name, found := strings.Cut(sel.Checker, "/"); found {
		namespace = ns
		err := c.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &v1alpha1.ServiceChecker{})
		switch {
		case err == nil, apierrors.IsForbidden(err):
			// A user who may read windows but not ServiceCheckers still sees the windows naming it.
		case apierrors.IsNotFound(err) && !meta.IsNoMatchError(err):
			return nil, c.selectError(sel, &snapshot.CheckerNotFoundError{Checker: sel.Checker})
		default:
			return nil, c.explain(err, "get", ns)
		}
	}
	var list v1alpha1.MaintenanceWindowList
	err := c.client.List(ctx, &list, client.InNamespace(namespace))
	if apierrors.IsForbidden(err) && namespace == "" && c.opts.FallbackNamespace != "" {
		namespace = c.opts.FallbackNamespace
		if c.opts.Warn != nil {
			c.opts.Warn(fmt.Sprintf("listing MaintenanceWindows in all namespaces is forbidden; showing those of "+
				"namespace %s only", namespace))
		}
		err = c.client.List(ctx, &list, client.InNamespace(namespace))
	}
	if err != nil {
		return nil, c.explainFor(windowsResource, err, "list", namespace)
	}
	snap, err := c.snapshot(nil, list.Items)
	if err != nil {
		return nil, err
	}
	listed := snap.ListWindows(sel.Namespaces, sel.Checker)
	out := make([]snapshot.Window, 0, len(listed))
	for _, w := range listed {
		out = append(out, *w)
	}
	return out, nil
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

// watchOnce lists and then watches until a watch ends. It watches the MaintenanceWindows too (when they can be
// read), so that each View carries the /status answer with its windows, and wakes when an upcoming window is
// announced. connected tells whether a list was ever delivered: a ServiceChecker selected by --checker that is
// deleted afterwards yields an empty list, not an error.
func (c *Cluster) watchOnce(ctx context.Context, sel selection.Selection, connected *bool, fn func(View)) error {
	list, err := c.list(ctx, sel)
	if err != nil {
		return err
	}
	checkers := make(map[types.NamespacedName]v1alpha1.ServiceChecker, len(list.Items))
	for _, sc := range list.Items {
		checkers[client.ObjectKeyFromObject(&sc)] = sc
	}
	namespace := c.scope(sel)
	windows := map[types.NamespacedName]v1alpha1.MaintenanceWindow{}
	var windowEvents <-chan watch.Event // nil (never ready) when the windows cannot be read
	if wl, ok := c.windows(ctx, sel); ok {
		for _, w := range wl.Items {
			windows[client.ObjectKeyFromObject(&w)] = w
		}
		ww, err := c.client.Watch(ctx, &v1alpha1.MaintenanceWindowList{}, client.InNamespace(namespace),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: wl.ResourceVersion}})
		if err != nil {
			return c.explainFor(windowsResource, err, "watch", namespace)
		}
		defer ww.Stop()
		windowEvents = ww.ResultChan()
	}
	announce := time.NewTimer(time.Hour)
	defer announce.Stop()
	emit := func() error {
		items := make([]v1alpha1.ServiceChecker, 0, len(checkers))
		for _, sc := range checkers {
			items = append(items, sc) // any order: the snapshot sorts
		}
		ws := make([]v1alpha1.MaintenanceWindow, 0, len(windows))
		for _, w := range windows {
			ws = append(ws, w)
		}
		snap, err := c.snapshot(items, ws)
		if err != nil {
			return err
		}
		now := time.Now()
		v, err := view(snap, sel, now)
		var notFound *snapshot.CheckerNotFoundError
		if errors.As(err, &notFound) && *connected {
			v, err = View{Status: snapshot.Summarize(nil, time.Time{}), StatusKnown: true}, nil
		}
		if err != nil {
			return c.selectError(sel, err)
		}
		announce.Stop()
		if next := nextAnnouncement(snap, now); !next.IsZero() {
			announce.Reset(next.Sub(now))
		}
		*connected = true
		fn(v)
		return nil
	}
	if err := emit(); err != nil {
		return err
	}
	w, err := c.client.Watch(ctx, &v1alpha1.ServiceCheckerList{}, client.InNamespace(namespace),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		return c.explain(err, "watch", namespace)
	}
	defer w.Stop()
	for {
		changed := true
		select {
		case <-ctx.Done():
			return nil
		case <-announce.C:
		case ev, ok := <-windowEvents:
			if !ok {
				return nil
			}
			if changed, err = apply(windows, ev, "MaintenanceWindows"); err != nil {
				return err
			}
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			if changed, err = apply(checkers, ev, "ServiceCheckers"); err != nil {
				return err
			}
		}
		if !changed {
			continue
		}
		if err := emit(); err != nil {
			return err
		}
	}
}

// apply records a watch event in objects; false for an event that changes nothing (a bookmark).
func apply[T any, PT interface {
	*T
	client.Object
}](objects map[types.NamespacedName]T, ev watch.Event, what string) (bool, error) {
	switch ev.Type {
	case watch.Error:
		return false, fmt.Errorf("watch %s: %w", what, apierrors.FromObject(ev.Object))
	case watch.Added, watch.Modified:
		if o, ok := ev.Object.(PT); ok {
			objects[client.ObjectKeyFromObject(o)] = *o
		}
	case watch.Deleted:
		if o, ok := ev.Object.(PT); ok {
			delete(objects, client.ObjectKeyFromObject(o))
		}
	default:
		return false, nil
	}
	return true, nil
}

// nextAnnouncement is the earliest instant after now at which a window of snap enters its announce period (zero
// when none will): /status changes then without any write.
func nextAnnouncement(snap *snapshot.Snapshot, now time.Time) time.Time {
	next := time.Time{}
	for _, w := range snap.Windows() {
		if at := w.AnnouncedAt(); at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

func (c *Cluster) snapshot(items []v1alpha1.ServiceChecker, windows []v1alpha1.MaintenanceWindow) (*snapshot.Snapshot, error) {
	return snapshot.BuildWithWindows(items, windows, 0, time.Time{})
}

// selectError words a selection's error for the user: a --checker that names no ServiceChecker.
func (c *Cluster) selectError(sel selection.Selection, err error) error {
	var notFound *snapshot.CheckerNotFoundError
	if errors.As(err, &notFound) {
		return fmt.Errorf("ServiceChecker %s not found in the cluster at %s; check --checker for a typo "+
			"(kubectl get svcchk -A lists them)", sel.Checker, c.opts.Config.Host)
	}
	return err
}

// The resources the cluster source reads, as explainFor names them.
var (
	checkersResource = resource{name: "servicecheckers.maintenance.mamrezb.com", kind: "ServiceChecker",
		role: "maintenance-window-manager-servicechecker-viewer-role"}
	windowsResource = resource{name: "maintenancewindows.maintenance.mamrezb.com", kind: "MaintenanceWindow",
		role: "maintenance-window-manager-maintenancewindow-viewer-role"}
)

type resource struct{ name, kind, role string }

// explain says what the cluster refused about ServiceCheckers and what to do.
func (c *Cluster) explain(err error, verb, namespace string) error {
	return c.explainFor(checkersResource, err, verb, namespace)
}

// explainFor says what the cluster refused about r and what to do.
func (c *Cluster) explainFor(r resource, err error, verb, namespace string) error {
	where := "in all namespaces"
	if namespace != "" {
		where = "in namespace " + namespace
	}
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return fmt.Errorf("the %s CRD (%s) is not installed in the cluster at %s; install (or upgrade) the "+
			"operator first (see the README: Install)", r.kind, r.name, c.opts.Config.Host)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the cluster denied %s %s %s (%w); ask an admin to bind the %s ClusterRole to you", verb,
			r.name, where, err, r.role)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster at %s did not accept your credentials (401) to %s %s: refresh them or pick "+
			"another --context", c.opts.Config.Host, verb, r.name)
	}
	return fmt.Errorf("%s %s %s at %s: %w", verb, r.name, where, c.opts.Config.Host, err)
}
