package reconnect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "services"}
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("list: %w", &net.OpError{Op: "read", Err: syscall.ECONNRESET}), true},
		{errors.New("http2: client connection lost"), true},
		{apierrors.NewServiceUnavailable("starting"), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewInternalError(errors.New("etcd")), true},
		{apierrors.NewTimeoutError("watch", 1), true},
		{apierrors.NewResourceExpired("too old resource version"), false},
		{apierrors.NewForbidden(gr, "", errors.New("RBAC")), false},
		{apierrors.NewNotFound(gr, "x"), false},
		{apierrors.NewBadRequest("bad"), false},
		{context.Canceled, false},
	}
	for _, tt := range tests {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestRetriesUntilTheServerAnswers: three refused lists, then an answer; a Gone watch passes through at once.
func TestRetriesUntilTheServerAnswers(t *testing.T) {
	calls := 0
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			calls++
			if calls <= 3 {
				return nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
			}
			return &corev1.ServiceList{}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			calls++
			return nil, apierrors.NewResourceExpired("too old resource version")
		},
	}
	p := Patient(lw, 10*time.Millisecond).(toolscache.ListerWatcherWithContext)
	start := time.Now()
	if _, err := p.ListWithContext(context.Background(), metav1.ListOptions{}); err != nil || calls != 4 {
		t.Fatalf("List = %v after %d calls, want success after 4", err, calls)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("List took %s for three 10ms retries", d)
	}
	calls = 0
	if _, err := p.WatchWithContext(context.Background(), metav1.ListOptions{}); !apierrors.IsResourceExpired(err) || calls != 1 {
		t.Errorf("Watch = %v after %d calls, want Gone at once", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	calls = -1000 // refused for ever
	if _, err := p.ListWithContext(ctx, metav1.ListOptions{}); err == nil {
		t.Error("List succeeded although the server never answered")
	}
}

// lostConnectionEvent is the event client-go's REST client makes of a watch stream it cannot read any more.
func lostConnectionEvent() watch.Event {
	reporter := apierrors.NewClientErrorReporter(500, "GET", "ClientWatchDecoding")
	return watch.Event{Type: watch.Error, Object: reporter.AsObject(errors.New(
		"unable to decode an event from the watch stream: http2: client connection lost"))}
}

// TestALostConnectionEndsTheWatchQuietly: the error event of a lost connection ends the watch without reaching the
// reflector; the server's own error events pass.
func TestALostConnectionEndsTheWatchQuietly(t *testing.T) {
	inner := watch.NewFake()
	w := endQuietly(inner)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "2"}}
	go inner.Modify(svc)
	if ev := <-w.ResultChan(); ev.Type != watch.Modified {
		t.Fatalf("first event %v, want Modified", ev.Type)
	}
	gone := watch.Event{Type: watch.Error, Object: &apierrors.NewResourceExpired("too old resource version").ErrStatus}
	go inner.Action(gone.Type, gone.Object)
	if ev := <-w.ResultChan(); ev.Type != watch.Error {
		t.Fatalf("the server's error event became %v; it must pass", ev.Type)
	}
	go func() {
		ev := lostConnectionEvent()
		inner.Action(ev.Type, ev.Object)
	}()
	select {
	case ev, ok := <-w.ResultChan():
		if ok {
			t.Fatalf("a lost connection reached the reflector as %v %v", ev.Type, ev.Object)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end after its connection was lost")
	}
	if !inner.IsStopped() {
		t.Error("the lost watch was not stopped")
	}
}

// TestAReflectorWatchesAgainAtOnceAfterALostConnection runs client-go's reflector over Patient on a server whose
// watches each bring one change and then lose their connection, as during a flapping network: each loss must be
// followed by a new watch at once, never by the reflector's growing backoff (0.8 s, 1.6 s, 3.2 s, ...).
func TestAReflectorWatchesAgainAtOnceAfterALostConnection(t *testing.T) {
	var mu sync.Mutex
	watches, rv := 0, 1
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &corev1.ServiceList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			time.Sleep(10 * time.Millisecond) // a round trip
			mu.Lock()
			watches++
			rv++
			next := strconv.Itoa(rv)
			mu.Unlock()
			fw := watch.NewFakeWithChanSize(2, false)
			fw.Modify(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", ResourceVersion: next}})
			ev := lostConnectionEvent()
			fw.Action(ev.Type, ev.Object)
			return fw, nil
		},
	}
	store := toolscache.NewStore(toolscache.MetaNamespaceKeyFunc)
	r := toolscache.NewReflector(Patient(lw, 10*time.Millisecond), &corev1.Service{}, store, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.RunWithContext(ctx)
	mu.Lock()
	defer mu.Unlock()
	// Backing off (800 ms, then 1.6 s, each with up to as much jitter again), the reflector watches a few times in
	// 2 s; watching again at once, once per round trip.
	t.Logf("%d watches in 2 s", watches)
	if watches < 20 {
		t.Errorf("%d watches in 2 s: the reflector backed off after lost connections", watches)
	}
}
