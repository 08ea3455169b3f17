package reconnect

import (
	"context"
	"errors"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// RetryEvery is how often a failed List or Watch is retried.
const RetryEvery = time.Second

// NewInformer is a cache.Options.NewInformer: client-go's shared informer over a patient ListerWatcher.
func NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration,
	indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(Patient(lw, RetryEvery), obj, resync, indexers)
}

// Patient wraps lw so that List and Watch retry transient failures every `every` until they succeed or their
// context ends.
func Patient(lw toolscache.ListerWatcher, every time.Duration) toolscache.ListerWatcher {
	return &patient{inner: toolscache.ToListerWatcherWithContext(lw), every: every}
}

type patient struct {
	inner toolscache.ListerWatcherWithContext
	every time.Duration
}

// ListWithContext implements cache.ListerWithContext.
func (p *patient) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	return retry(ctx, p.every, func() (runtime.Object, error) { return p.inner.ListWithContext(ctx, opts) })
}

// WatchWithContext implements cache.WatcherWithContext.
func (p *patient) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := retry(ctx, p.every, func() (watch.Interface, error) { return p.inner.WatchWithContext(ctx, opts) })
	if err != nil || w == nil {
		return w, err
	}
	return endQuietly(w), nil
}

// List implements cache.Lister for callers without a context; the reflector uses ListWithContext.
func (p *patient) List(opts metav1.ListOptions) (runtime.Object, error) {
	return p.ListWithContext(context.Background(), opts)
}

// Watch implements cache.Watcher for callers without a context; the reflector uses WatchWithContext.
func (p *patient) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return p.WatchWithContext(context.Background(), opts)
}

func retry[T any](ctx context.Context, every time.Duration, call func() (T, error)) (T, error) {
	overloaded := every
	for {
		v, err := call()
		if err == nil || !Transient(err) || ctx.Err() != nil {
			return v, err
		}
		wait := every
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			// The server answered: it is there but overloaded or failing. Honour its Retry-After and back off up to
			// thirty seconds, so that every informer of every replica does not re-list it each second.
			overloaded = min(2*overloaded, 30*time.Second)
			wait = overloaded
			if seconds, ok := apierrors.SuggestsClientDelay(err); ok {
				wait = max(wait, time.Duration(seconds)*time.Second)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
	}
}

// Transient reports whether a List or Watch failure is the API server being away or overloaded, which retrying
// fixes, rather than an answer the reflector must act on.
func Transient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) ||
			apierrors.IsInternalError(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
	}
	return true // no answer at all: refused, reset, EOF, TLS or DNS failure, timeout
}

// clientWatchDecoding is the cause client-go's REST client gives a watch event that stands for a failure to read the
// watch stream (rest.Request.Watch): the connection under the watch was lost, not an answer of the API server.
const clientWatchDecoding = "ClientWatchDecoding"

// endQuietly passes on the events of w, except the error event of a lost connection (for example "http2: client
// connection lost", when the HTTP/2 health check closes a connection that died silently): then it ends the watch as
// the server ends one that timed out. The reflector watches again at once from the last resource version, through
// Patient, where an error event would make it wait for its backoff first (800 ms, doubling up to 30 s, with as much
// jitter again, reset only after two minutes without failures): after a few outages in a row, a change could take a
// minute to reach the cache.
func endQuietly(w watch.Interface) watch.Interface {
	q := &quietWatch{inner: w, out: make(chan watch.Event), stop: make(chan struct{})}
	go q.run()
	return q
}

type quietWatch struct {
	inner watch.Interface
	out   chan watch.Event
	stop  chan struct{}
	once  sync.Once
}

func (q *quietWatch) run() {
	defer close(q.out)
	defer q.inner.Stop()
	for {
		select {
		case <-q.stop:
			return
		case ev, ok := <-q.inner.ResultChan():
			if !ok || lostConnection(ev) {
				return
			}
			select {
			case q.out <- ev:
			case <-q.stop:
				return
			}
		}
	}
}

// Stop implements watch.Interface.
func (q *quietWatch) Stop() { q.once.Do(func() { close(q.stop) }) }

// ResultChan implements watch.Interface.
func (q *quietWatch) ResultChan() <-chan watch.Event { return q.out }

// lostConnection reports whether ev is the error event client-go makes of a watch stream it could not read.
func lostConnection(ev watch.Event) bool {
	if ev.Type != watch.Error {
		return false
	}
	status, ok := ev.Object.(*metav1.Status)
	if !ok || status.Details == nil {
		return false
	}
	for _, cause := range status.Details.Causes {
		if cause.Type == clientWatchDecoding {
			return true
		}
	}
	return false
}
