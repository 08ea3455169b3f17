package leader

import (
	"context"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TermCache is the manager's shared cache as one term of leadership sees it: the event handlers a controller adds
// through it are removed when ctx ends. controller-runtime never removes a controller's handlers, so without this
// every lost Lease would leave one more set of handlers on the shared informers, each mapping every event again.
func TermCache(ctx context.Context, c cache.Cache) cache.Cache {
	return &termCache{Cache: c, term: ctx}
}

type termCache struct {
	cache.Cache
	term context.Context
}

// GetInformer returns the shared informer, wrapped so that its handlers end with the term.
func (c *termCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := c.Cache.GetInformer(ctx, obj, opts...)
	if err != nil {
		return nil, err
	}
	return &termInformer{Informer: i, term: c.term}, nil
}

type termInformer struct {
	cache.Informer
	term context.Context
}

func (i *termInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.removeAtEnd(i.Informer.AddEventHandler(h))
}

func (i *termInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler,
	resync time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.removeAtEnd(i.Informer.AddEventHandlerWithResyncPeriod(h, resync))
}

func (i *termInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler,
	opts toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.removeAtEnd(i.Informer.AddEventHandlerWithOptions(h, opts))
}

func (i *termInformer) removeAtEnd(reg toolscache.ResourceEventHandlerRegistration,
	err error) (toolscache.ResourceEventHandlerRegistration, error) {
	if err == nil {
		context.AfterFunc(i.term, func() { _ = i.RemoveEventHandler(reg) })
	}
	return reg, err
}
