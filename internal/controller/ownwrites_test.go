package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
)

func TestOwnWritesEchoes(t *testing.T) {
	key := types.NamespacedName{Namespace: "shop", Name: "storefront"}
	at := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	update := func(rv string) event.UpdateEvent {
		obj := func() client.Object {
			return &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
				ResourceVersion: rv}}
		}
		return event.UpdateEvent{ObjectOld: obj(), ObjectNew: obj()}
	}
	sliceEvent := func(o *ownWrites) {
		mapTo := func(context.Context, client.Object) []ctrl.Request { return []ctrl.Request{{NamespacedName: key}} }
		o.noting(mapTo)(context.Background(), nil)
	}

	t.Run("the echo of a write with no input event since is skipped; other writes are not", func(t *testing.T) {
		var o ownWrites
		if !o.notEcho(update("7")) {
			t.Error("an update of a ServiceChecker never written here was skipped")
		}
		o.wrote(key, "8", at, o.began(key))
		if o.notEcho(update("8")) {
			t.Error("the echo of our own write was not skipped")
		}
		if !o.notEcho(update("9")) {
			t.Error("a later write (by hand, or another leader) was skipped")
		}
		if got := o.lastWrite(key); !got.Equal(at) {
			t.Errorf("lastWrite = %v, want %v", got, at)
		}
	})

	// The lost update the echo guards against: reconcile 1 writes ready=false (rv 8); the slice flips back before the
	// cache has rv 8; reconcile 2 judges it ready against the cached rv 7 (ready), finds nothing to write. Only the
	// echo of rv 8, reconciled, replaces the outdated ready=false on the server.
	t.Run("an input event after the writing reconcile began lets the echo through", func(t *testing.T) {
		var o ownWrites
		began := o.began(key) // reconcile 1
		sliceEvent(&o)        // the flip back, while reconcile 1 writes
		o.wrote(key, "8", at, began)
		if !o.notEcho(update("8")) {
			t.Error("the echo was skipped although an input event came after its reconcile began")
		}

		o.wrote(key, "10", at, o.began(key)) // a reconcile that began after that event
		if o.notEcho(update("10")) {
			t.Error("the echo of a write that saw every input event was not skipped")
		}
		sliceEvent(&o)
		if !o.notEcho(update("10")) {
			t.Error("the echo was skipped although an input event came after the write")
		}
	})

	t.Run("forget", func(t *testing.T) {
		var o ownWrites
		sliceEvent(&o)
		o.wrote(key, "8", at, o.began(key))
		o.forget(key)
		if !o.notEcho(update("8")) || !o.lastWrite(key).IsZero() || o.began(key) != 0 {
			t.Error("a forgotten ServiceChecker is still remembered")
		}
	})
}
