package leader

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// inClusterNamespace is where a Pod finds its own namespace.
const inClusterNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// NewLeaseLock returns the Lease namespace/name to campaign for, with an identity unique to this process (host name
// and a random suffix, as controller-runtime makes it). An empty namespace means the Pod's own, which only exists in
// a cluster.
func NewLeaseLock(cfg *rest.Config, namespace, name string, events resourcelock.EventRecorder) (resourcelock.Interface, error) {
	if namespace == "" {
		raw, err := os.ReadFile(inClusterNamespace)
		if err != nil {
			return nil, errors.New("not running in a cluster: set --leader-election-namespace to the namespace of " +
				"the leader election Lease")
		}
		namespace = strings.TrimSpace(string(raw))
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("read the host name for the leader identity: %w", err)
	}
	clients, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election"))
	if err != nil {
		return nil, fmt.Errorf("create the leader election client: %w", err)
	}
	return resourcelock.New(resourcelock.LeasesResourceLock, namespace, name, clients.CoreV1(),
		clients.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: host + "_" + uuid.NewString(),
			EventRecorder: events})
}
