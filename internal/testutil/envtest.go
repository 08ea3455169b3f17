package testutil

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
)

// StartAdminEnv starts envtest's kube-apiserver and etcd without CRDs (what the suite installs brings its own), with
// the Service range of every suite and of run-local (localcluster.DefaultServiceIPRange), and adds user, a member
// of system:masters, whose kubeconfig it writes to dir/admin.kubeconfig for helm and kubectl. Stop the returned
// environment when done, also after an error.
func StartAdminEnv(user, dir string) (env *envtest.Environment, admin *rest.Config, kubeconfig string, err error) {
	env = &envtest.Environment{}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", localcluster.DefaultServiceIPRange)
	if _, err := env.Start(); err != nil {
		return env, nil, "", fmt.Errorf("start kube-apiserver and etcd (KUBEBUILDER_ASSETS): %w", err)
	}
	u, err := env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return env, nil, "", fmt.Errorf("add user %s: %w", user, err)
	}
	raw, err := u.KubeConfig()
	if err != nil {
		return env, nil, "", fmt.Errorf("kubeconfig of user %s: %w", user, err)
	}
	kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		return env, nil, "", fmt.Errorf("write %s: %w", kubeconfig, err)
	}
	return env, u.Config(), kubeconfig, nil
}
