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
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

// Feed keeps a Store current from the ServiceCheckers and MaintenanceWindows in an informer cache. It is a manager
// Runnable that runs on every replica, leader or not: the leader writes the status, every replica's cache sees it.
type Feed struct {
	Cache cache.Cache
	Store *Store
	Clock clock.PassiveClock
	// Published, when set, is told how long each snapshot took to build and publish, from the wake-up to the
	// new snapshot in the Store (the manager exports it as mwm_snapshot_publish_seconds).
	Published func(time.Duration)

	mu    sync.Mutex
	dirty map[key]bool // objects changed since the last rebuild
	wake  chan struct{}
	timer *time.Timer // wakes the streams when a window's next occurrence becomes upcoming
}

// key names a changed object: a ServiceChecker, or a MaintenanceWindow when window is true.
type key struct {
	types.NamespacedName
	window bool
}

// NeedLeaderElection is false: every replica serves the API.
func (f *Feed) NeedLeaderElection() bool { return false }

// Start publishes a first snapshot once the cache has synced, then a new one whenever a ServiceChecker or a
// MaintenanceWindow is added, deleted, or changes its generation or status. Only the Parts and Windows of the objects
// that changed are rebuilt, so an event costs in proportion to that object, not to the cluster; events arriving during
// a rebuild are coalesced into the next one. Getting the informers needs the API server: it is retried with backoff.
func (f *Feed) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("snapshot")
	f.dirty = map[key]bool{}
	f.wake = make(chan struct{}, 1)

	var synced []toolscache.InformerSynced
	for _, watched := range []struct {
		obj    client.Object
		window bool
	}{{&v1alpha1.ServiceChecker{}, false}, {&v1alpha1.MaintenanceWindow{}, true}} {
		informer, err := f.informer(ctx, watched.obj)
		if err != nil {
			return nil // ctx ended while the API server was away
		}
		registration, err := informer.AddEventHandler(f.handler(watched.window))
		if err != nil {
			return fmt.Errorf("watch %T for the API snapshot: %w", watched.obj, err)
		}
		defer func() { _ = informer.RemoveEventHandler(registration) }()
		synced = append(synced, registration.HasSynced)
	}

	// Only the feed's own informers: the API must not wait for Services or EndpointSlices (the leader's), whose
	// initial lists are large and which a missing permission keeps from ever syncing.
	if !toolscache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // stopped before the informers synced
	}
	for {
		if err := f.publishAll(ctx); err == nil {
			break
		} else {
			log.Error(err, "build the first API snapshot; retrying")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	defer f.stopTimer()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		}
		if err := f.rebuild(ctx); err != nil {
			// The cache is in memory: a failure here is a bug, not a transient condition. Keep serving the
			// previous snapshot and try again.
			log.Error(err, "rebuild the API snapshot")
		}
	}
}

// informer gets the shared informer of obj, retrying with backoff while the API server is away or the CRD missing.
func (f *Feed) informer(ctx context.Context, obj client.Object) (cache.Informer, error) {
	wait := time.Second
	for {
		informer, err := f.Cache.GetInformer(ctx, obj)
		if err == nil {
			return informer, nil
		}
		logf.FromContext(ctx).Error(err, "get an informer for the API snapshot; retrying", "kind", fmt.Sprintf("%T", obj),
			"in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (f *Feed) handler(window bool) toolscache.ResourceEventHandler {
	mark := func(obj any) { f.mark(obj, window) }
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: mark,
		UpdateFunc: func(oldObj, newObj any) {
			// Only the generation (Pending entries, a window's spec) and the status reach the API; resyncs and label
			// edits do not.
			if o, ok := oldObj.(client.Object); ok {
				if n, ok := newObj.(client.Object); ok && o.GetGeneration() == n.GetGeneration() &&
					equality.Semantic.DeepEqual(statusOf(o), statusOf(n)) {
					return
				}
			}
			mark(newObj)
		},
		DeleteFunc: mark,
	}
}

func statusOf(obj client.Object) any {
	switch o := obj.(type) {
	case *v1alpha1.ServiceChecker:
		return o.Status
	case *v1alpha1.MaintenanceWindow:
		return o.Status
	}
	return nil
}

// mark records a changed object (or the tombstone of a deleted one) and wakes the loop.
func (f *Feed) mark(obj any, window bool) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, ok := obj.(client.Object)
	if !ok {
		return
	}
	f.mu.Lock()
	f.dirty[key{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}, window: window}] = true
	f.mu.Unlock()
	f.poke()
}

func (f *Feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// publishAll builds the first snapshot from every ServiceChecker and MaintenanceWindow in the cache.
func (f *Feed) publishAll(ctx context.Context) error {
	start := time.Now()
	f.mu.Lock()
	clear(f.dirty) // everything is read now
	f.mu.Unlock()
	var checkers v1alpha1.ServiceCheckerList
	if err := f.Cache.List(ctx, &checkers); err != nil {
		return fmt.Errorf("list ServiceCheckers from the cache: %w", err)
	}
	var windows v1alpha1.MaintenanceWindowList
	if err := f.Cache.List(ctx, &windows); err != nil {
		return fmt.Errorf("list MaintenanceWindows from the cache: %w", err)
	}
	snap, err := BuildWithWindows(checkers.Items, windows.Items, f.Store.NextVersion(), f.Clock.Now())
	if err != nil {
		return err
	}
	f.Store.Publish(snap)
	if f.Published != nil {
		f.Published(time.Since(start))
	}
	f.schedule(snap)
	return nil
}

// rebuild replaces the Parts and Windows of the objects marked dirty and publishes a snapshot when any of them
// changed what a client can see.
func (f *Feed) rebuild(ctx context.Context) error {
	start := time.Now()
	f.mu.Lock()
	dirty := f.dirty
	f.dirty = map[key]bool{}
	f.mu.Unlock()

	prev := f.Store.Current()
	parts, windows := prev.Parts(), prev.Windows()
	changed := false
	for k := range dirty {
		var err error
		var c bool
		if k.window {
			c, err = f.rebuildWindow(ctx, k.NamespacedName, windows)
		} else {
			c, err = f.rebuildPart(ctx, k.NamespacedName, parts)
		}
		if err != nil {
			// Keep every change of this batch for the next attempt, a second from now: dropping them would serve an
			// old verdict until those objects change again.
			f.retryLater(dirty)
			return err
		}
		changed = changed || c
	}
	if !changed {
		return nil // e.g. a resync or a write that kept every verdict: nothing a client could see changed
	}
	next := New(parts, windows, f.Store.NextVersion(), f.Clock.Now())
	f.Store.Publish(next)
	if f.Published != nil {
		f.Published(time.Since(start))
	}
	f.schedule(next)
	logf.FromContext(ctx).V(1).Info("API snapshot published", "version", next.Version, "checkers", len(parts),
		"windows", len(windows), "changed", len(dirty))
	return nil
}

func (f *Feed) rebuildPart(ctx context.Context, name types.NamespacedName, parts map[string]*Part) (bool, error) {
	old, had := parts[name.String()]
	var sc v1alpha1.ServiceChecker
	err := f.Cache.Get(ctx, name, &sc)
	switch {
	case apierrors.IsNotFound(err):
		delete(parts, name.String())
		return had, nil
	case err != nil:
		return false, fmt.Errorf("get ServiceChecker %s from the cache: %w", name, err)
	}
	p, err := NewPart(&sc)
	if err != nil {
		return false, err
	}
	if had && old.SameAs(p) {
		return false, nil
	}
	parts[p.Checker] = p
	return true, nil
}

func (f *Feed) rebuildWindow(ctx context.Context, name types.NamespacedName, windows map[string]*Window) (bool, error) {
	_, had := windows[name.String()]
	var w v1alpha1.MaintenanceWindow
	err := f.Cache.Get(ctx, name, &w)
	switch {
	case apierrors.IsNotFound(err):
		delete(windows, name.String())
		return had, nil
	case err != nil:
		return false, fmt.Errorf("get MaintenanceWindow %s from the cache: %w", name, err)
	}
	windows[name.String()] = NewWindow(&w)
	return true, nil
}

// schedule wakes the streams when the earliest window's next occurrence becomes upcoming: /status changes then
// without any write.
func (f *Feed) schedule(snap *Snapshot) {
	now := f.Clock.Now()
	var earliest time.Time
	for _, w := range snap.windows {
		if at := w.AnnouncedAt(); at.After(now) && (earliest.IsZero() || at.Before(earliest)) {
			earliest = at
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if !earliest.IsZero() {
		f.timer = time.AfterFunc(earliest.Sub(now), func() {
			f.Store.Poke()
			f.schedule(f.Store.Current()) // the next window to be announced
		})
	}
}

func (f *Feed) stopTimer() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
	}
}

// retryLater marks keys dirty again and wakes the loop after a second.
func (f *Feed) retryLater(keys map[key]bool) {
	f.mu.Lock()
	for k := range keys {
		f.dirty[k] = true
	}
	f.mu.Unlock()
	time.AfterFunc(time.Second, f.poke)
}
