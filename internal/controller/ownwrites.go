package controller

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
)

// ownWrites remembers, per ServiceChecker, the last status this process wrote and how many events of its inputs
// (Services, EndpointSlices, MaintenanceWindows, ReferenceGrants) were mapped to it, so that the watch event of our
// own write, the echo, need not be reconciled again: a second full pass per write doubled the cost of every event.
//
// An echo is skipped only when no input event was mapped to the ServiceChecker since the reconcile that wrote it
// began. Otherwise a later reconcile may have judged a newer input against a cached copy that did not have our write
// yet, found nothing to change, and left our now outdated status on the server; the echo brings it back.
type ownWrites struct {
	writes sync.Map // types.NamespacedName -> statusWrite
	inputs sync.Map // types.NamespacedName -> *atomic.Uint64, input events mapped to it
}

// statusWrite is a status this process wrote.
type statusWrite struct {
	resourceVersion string
	at              time.Time
	inputs          uint64 // input events mapped to the ServiceChecker when the reconcile that wrote began
}

// began returns the input count to pass to wrote, taken at the start of a reconcile.
func (o *ownWrites) began(key types.NamespacedName) uint64 {
	if c, ok := o.inputs.Load(key); ok {
		return c.(*atomic.Uint64).Load()
	}
	return 0
}

// wrote records a status written with resourceVersion at, by a reconcile that began at input count inputs.
func (o *ownWrites) wrote(key types.NamespacedName, resourceVersion string, at time.Time, inputs uint64) {
	o.writes.Store(key, statusWrite{resourceVersion: resourceVersion, at: at, inputs: inputs})
}

// lastWrite is when this process last wrote the ServiceChecker's status (zero: never).
func (o *ownWrites) lastWrite(key types.NamespacedName) time.Time {
	if w, ok := o.writes.Load(key); ok {
		return w.(statusWrite).at
	}
	return time.Time{}
}

// forget drops what is known of a deleted ServiceChecker.
func (o *ownWrites) forget(key types.NamespacedName) {
	o.writes.Delete(key)
	o.inputs.Delete(key)
}

// notEcho is a predicate's update filter: false for the echo of our own last write with no input event since.
func (o *ownWrites) notEcho(e event.UpdateEvent) bool {
	key := client.ObjectKeyFromObject(e.ObjectNew)
	w, ok := o.writes.Load(key)
	if !ok {
		return true
	}
	last := w.(statusWrite)
	return last.resourceVersion != e.ObjectNew.GetResourceVersion() || last.inputs != o.began(key)
}

// noting wraps a map function of an input kind so that each ServiceChecker it maps to counts the event.
func (o *ownWrites) noting(mapFunc handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []ctrl.Request {
		requests := mapFunc(ctx, obj)
		for _, req := range requests {
			c, _ := o.inputs.LoadOrStore(req.NamespacedName, new(atomic.Uint64))
			c.(*atomic.Uint64).Add(1)
		}
		return requests
	}
}
