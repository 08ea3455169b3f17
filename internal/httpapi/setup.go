package httpapi

import (
	"fmt"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// Setup adds the snapshot feed, the API server and its readiness check to a manager.
func Setup(mgr ctrl.Manager, opts ServerOptions) (*Server, error) {
	store := snapshot.NewStore()
	if err := mgr.Add(&snapshot.Feed{Cache: mgr.GetCache(), Store: store, Clock: clock.RealClock{}}); err != nil {
		return nil, fmt.Errorf("add the API snapshot feed: %w", err)
	}
	srv := NewServer(store, opts, mgr.GetLogger().WithName("api"))
	if err := mgr.Add(srv); err != nil {
		return nil, fmt.Errorf("add the API server: %w", err)
	}
	if err := mgr.AddReadyzCheck("api", srv.ReadyCheck); err != nil {
		return nil, fmt.Errorf("add the API readiness check: %w", err)
	}
	return srv, nil
}
