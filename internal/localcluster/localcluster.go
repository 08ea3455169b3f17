package localcluster

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options configure a local control plane.
type Options struct {
	// BinDir holds kube-apiserver, etcd and kubectl.
	BinDir string
	// CRDDir holds CRD manifests installed once the API server is up.
	CRDDir string
	// KubeconfigPath is where the admin kubeconfig is written.
	KubeconfigPath string
	// ServiceIPRange is passed as --service-cluster-ip-range; it bounds how many Services the cluster holds
	// (the envtest default, a /24, holds about 254).
	ServiceIPRange string
}

// Cluster is a running control plane.
type Cluster struct {
	env *envtest.Environment
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// KubeconfigPath is the admin kubeconfig written for kubectl and the manager.
	KubeconfigPath string
}

// Start launches etcd and kube-apiserver, installs the CRDs and writes the admin kubeconfig.
func Start(opts Options) (*Cluster, error) {
	for _, bin := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("control-plane binary %s not found in %s: run `make controlplane` to build it: %w",
				bin, opts.BinDir, err)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: opts.BinDir,
		CRDDirectoryPaths:     []string{opts.CRDDir},
		ErrorIfCRDPathMissing: true,
	}
	if opts.ServiceIPRange != "" {
		env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", opts.ServiceIPRange)
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", opts.BinDir, err)
	}
	c := &Cluster{env: env, KubeconfigPath: opts.KubeconfigPath}
	if err := c.writeKubeconfig(); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) writeKubeconfig() error {
	admin, err := c.env.AddUser(envtest.User{Name: "local-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("create the admin user: %w", err)
	}
	c.Config = admin.Config()
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("render the admin kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.KubeconfigPath), 0o755); err != nil {
		return fmt.Errorf("create the directory of %s: %w", c.KubeconfigPath, err)
	}
	if err := os.WriteFile(c.KubeconfigPath, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", c.KubeconfigPath, err)
	}
	return nil
}

// Stop terminates kube-apiserver and etcd and removes their temporary directories.
func (c *Cluster) Stop() error {
	if err := c.env.Stop(); err != nil {
		return fmt.Errorf("stop the local control plane: %w", err)
	}
	return nil
}
