package snapshot

import (
	"bytes"
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// Feed keeps a Store current from the ServiceCheckers in an informer cache. It is a manager Runnable that runs on
// every replica, leader or not: the leader writes the status, every replica's cache sees it.
type Feed struct {
	Cache cache.Cache
	Store *Store
	Clock clock.PassiveClock
}

// NeedLeaderElection is false: every replica serves the API.
func (f *Feed) NeedLeaderElection() bool { return false }

// Start publishes a first snapshot once the cache has synced, then a new one whenever a ServiceChecker's status
// (or the set of ServiceCheckers) changes. Events arriving during a rebuild are coalesced into one more rebuild.
func (f *Feed) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("snapshot")
	dirty := make(chan struct{}, 1)
	mark := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}

	informer, err := f.Cache.GetInformer(ctx, &v1alpha1.ServiceChecker{})
	if err != nil {
		return fmt.Errorf("get the ServiceChecker informer: %w", err)
	}
	registration, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { mark() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1alpha1.ServiceChecker)
			n, ok2 := newObj.(*v1alpha1.ServiceChecker)
			if !ok1 || !ok2 || o.Generation != n.Generation || !equality.Semantic.DeepEqual(o.Status, n.Status) {
				mark()
			}
		},
		DeleteFunc: func(any) { mark() },
	})
	if err != nil {
		return fmt.Errorf("watch ServiceCheckers for the API snapshot: %w", err)
	}
	defer func() { _ = informer.RemoveEventHandler(registration) }()

	if !f.Cache.WaitForCacheSync(ctx) {
		return nil // stopped before the cache synced
	}
	mark()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-dirty:
		}
		if err := f.rebuild(ctx); err != nil {
			// The cache is in memory: a failure here is a bug, not a transient condition. Keep serving the
			// previous snapshot and try again on the next event.
			log.Error(err, "rebuild the API snapshot")
		}
	}
}

func (f *Feed) rebuild(ctx context.Context) error {
	var list v1alpha1.ServiceCheckerList
	if err := f.Cache.List(ctx, &list); err != nil {
		return fmt.Errorf("list ServiceCheckers from the cache: %w", err)
	}
	prev := f.Store.Current()
	next, err := Build(list.Items, 0, f.Clock.Now())
	if err != nil {
		return err
	}
	if prev != nil && bytes.Equal(prev.Services.JSON, next.Services.JSON) {
		return nil // e.g. a new ServiceChecker without status yet: nothing a client could see changed
	}
	next.Version = f.Store.NextVersion()
	f.Store.Publish(next)
	logf.FromContext(ctx).V(1).Info("API snapshot published", "version", next.Version,
		"services", next.Summary.Services, "maintenance", next.Summary.Maintenance)
	return nil
}
