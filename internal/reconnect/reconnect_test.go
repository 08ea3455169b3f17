package reconnect

import (
	"context"
	"errors"
	"fmt"
	"net"
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
