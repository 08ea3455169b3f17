package controller

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/mamrezb/maintenance-window-manager/internal/leader"
)

// concurrentReconciles is how many objects a controller reconciles at once.
const concurrentReconciles = 4

// runTerm builds a fresh, unmanaged controller called name for one term of leadership, watches the sources that
// sources returns on the shared cache seen through a leader.TermCache (so the term's event handlers end with it), and
// reconciles until ctx is done.
func runTerm(ctx context.Context, name string, r reconcile.Reconciler, log logr.Logger, shared cache.Cache,
	sources func(termCache cache.Cache) []source.Source) error {
	c, err := controller.NewUnmanaged(name, controller.Options{
		Reconciler: r,
		Logger:     log,
		// Several objects at once: a reconcile mostly waits on its status write, and a new leader (or a cold start)
		// has every object to write. The workqueue never hands the same object to two workers.
		MaxConcurrentReconciles: concurrentReconciles,
		// One controller per term, under the same name in logs and metrics.
		SkipNameValidation: ptr.To(true),
	})
	if err != nil {
		return fmt.Errorf("create the %s controller: %w", name, err)
	}
	for _, src := range sources(leader.TermCache(ctx, shared)) {
		if err := c.Watch(src); err != nil {
			return fmt.Errorf("watch for the %s controller: %w", name, err)
		}
	}
	return c.Start(ctx)
}

// leaderRunnable is a manager Runnable that the manager starts on its elected leader only.
type leaderRunnable func(ctx context.Context) error

func (f leaderRunnable) Start(ctx context.Context) error { return f(ctx) }
func (f leaderRunnable) NeedLeaderElection() bool        { return true }
