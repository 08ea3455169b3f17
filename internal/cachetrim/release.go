package cachetrim

import (
	"context"
	"fmt"
	"runtime/debug"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ReleaseAfterSync is a manager Runnable that, once the Service and EndpointSlice informers have synced,
// returns to the operating system the memory their initial lists needed (every Service and EndpointSlice of the
// cluster is decoded, then trimmed). Without it the Go runtime keeps that peak as resident memory.
type ReleaseAfterSync struct {
	Cache cache.Cache
}

// Start implements manager.Runnable.
func (r ReleaseAfterSync) Start(ctx context.Context) error {
	for _, obj := range []client.Object{&corev1.Service{}, &discoveryv1.EndpointSlice{}} {
		// The controller creates the same informers when it starts; GetInformer returns the shared one.
		if _, err := r.Cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("get the %T informer: %w", obj, err)
		}
	}
	if r.Cache.WaitForCacheSync(ctx) {
		debug.FreeOSMemory()
	}
	return nil
}

// NeedLeaderElection is false: every replica caches Services and EndpointSlices, so that a standby takes over the
// reconciling without listing them first.
func (r ReleaseAfterSync) NeedLeaderElection() bool { return false }
