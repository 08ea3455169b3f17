package snapshot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
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

	mu    sync.Mutex
	dirty map[types.NamespacedName]bool // ServiceCheckers changed since the last rebuild
	wake  chan struct{}
}

// NeedLeaderElection is false: every replica serves the API.
func (f *Feed) NeedLeaderElection() bool { return false }

// Start publishes a first snapshot once the cache has synced, then a new one whenever a ServiceChecker is added,
// deleted, or changes its generation or status. Only the Parts of the ServiceCheckers that changed are rebuilt, so an
// event costs in proportion to that ServiceChecker, not to the cluster; events arriving during a rebuild are
// coalesced into the next one.
func (f *Feed) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("snapshot")
	f.dirty = map[types.NamespacedName]bool{}
	f.wake = make(chan struct{}, 1)

	informer, err := f.Cache.GetInformer(ctx, &v1alpha1.ServiceChecker{})
	if err != nil {
		return fmt.Errorf("get the ServiceChecker informer: %w", err)
	}
	registration, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: f.mark,
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1alpha1.ServiceChecker)
			n, ok2 := newObj.(*v1alpha1.ServiceChecker)
			// Only the generation (Pending entries) and the status reach the API; resyncs and label edits do not.
			if !ok1 || !ok2 || o.Generation != n.Generation || !equality.Semantic.DeepEqual(o.Status, n.Status) {
				f.mark(newObj)
			}
		},
		DeleteFunc: f.mark,
	})
	if err != nil {
		return fmt.Errorf("watch ServiceCheckers for the API snapshot: %w", err)
	}
	defer func() { _ = informer.RemoveEventHandler(registration) }()

	if !f.Cache.WaitForCacheSync(ctx) {
		return nil // stopped before the cache synced
	}
	if err := f.publishAll(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		}
		if err := f.rebuild(ctx); err != nil {
			// The cache is in memory: a failure here is a bug, not a transient condition. Keep serving the
			// previous snapshot and try again on the next event.
			log.Error(err, "rebuild the API snapshot")
		}
	}
}

// mark records a changed ServiceChecker (the object, or the tombstone of a deleted one) and wakes the loop.
func (f *Feed) mark(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	sc, ok := obj.(*v1alpha1.ServiceChecker)
	if !ok {
		return
	}
	f.mu.Lock()
	f.dirty[types.NamespacedName{Namespace: sc.Namespace, Name: sc.Name}] = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// publishAll builds the first snapshot from every ServiceChecker in the cache.
func (f *Feed) publishAll(ctx context.Context) error {
	f.mu.Lock()
	clear(f.dirty) // everything is read now
	f.mu.Unlock()
	var list v1alpha1.ServiceCheckerList
	if err := f.Cache.List(ctx, &list); err != nil {
		return fmt.Errorf("list ServiceCheckers from the cache: %w", err)
	}
	snap, err := Build(list.Items, f.Store.NextVersion(), f.Clock.Now())
	if err != nil {
		return err
	}
	f.Store.Publish(snap)
	return nil
}

// rebuild replaces the Parts of the ServiceCheckers marked dirty and publishes a snapshot when any of them changed
// what a client can see.
func (f *Feed) rebuild(ctx context.Context) error {
	f.mu.Lock()
	dirty := f.dirty
	f.dirty = map[types.NamespacedName]bool{}
	f.mu.Unlock()

	prev := f.Store.Current()
	parts := prev.Parts()
	changed := false
	for key := range dirty {
		old, had := parts[key.String()]
		var sc v1alpha1.ServiceChecker
		err := f.Cache.Get(ctx, key, &sc)
		switch {
		case apierrors.IsNotFound(err):
			if had {
				delete(parts, key.String())
				changed = true
			}
			continue
		case err != nil:
			// Keep every change of this batch for the next attempt, a second from now: dropping them would serve an
			// old verdict until those ServiceCheckers change again.
			f.retryLater(dirty)
			return fmt.Errorf("get ServiceChecker %s from the cache: %w", key, err)
		}
		p, err := NewPart(&sc)
		if err != nil {
			return err
		}
		if !had || !old.SameAs(p) {
			parts[p.Checker] = p
			changed = true
		}
	}
	if !changed {
		return nil // e.g. a resync or a write that kept every verdict: nothing a client could see changed
	}
	next := New(parts, f.Store.NextVersion(), f.Clock.Now())
	f.Store.Publish(next)
	logf.FromContext(ctx).V(1).Info("API snapshot published", "version", next.Version, "checkers", len(parts),
		"changed", len(dirty))
	return nil
}

// retryLater marks keys dirty again and wakes the loop after a second.
func (f *Feed) retryLater(keys map[types.NamespacedName]bool) {
	f.mu.Lock()
	for k := range keys {
		f.dirty[k] = true
	}
	f.mu.Unlock()
	time.AfterFunc(time.Second, func() {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	})
}
