package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// DefaultServiceIPRange is the Service range of every local cluster: a /16 holds 65k Services (envtest's default /24
// holds about 254), and the IPv6 range makes dual-stack Services possible.
const DefaultServiceIPRange = "10.96.0.0/16,fd00:10:96::/112"

// Options configure a local control plane.
type Options struct {
	// BinDir holds kube-apiserver, etcd, kubectl and, for ControllerManager, kube-controller-manager.
	BinDir string
	// CRDDir holds CRD manifests installed once the API server is up; empty installs none.
	CRDDir string
	// KubeconfigPath is where the admin kubeconfig is written.
	KubeconfigPath string
	// ServiceIPRange is passed as --service-cluster-ip-range; empty means DefaultServiceIPRange.
	ServiceIPRange string
	// ControllerManager also runs kube-controller-manager with its EndpointSlice and Endpoints controllers, so
	// that Pods' readiness becomes EndpointSlices as in a real cluster.
	ControllerManager bool
	// LogDir receives kube-controller-manager.log; empty uses a temporary directory removed by Stop.
	LogDir string
	// MaxEndpointsPerSlice is kube-controller-manager's --max-endpoints-per-slice; 0 keeps its default (100). A small
	// value spreads a Service's endpoints over several slices.
	MaxEndpointsPerSlice int
}

// Cluster is a running control plane.
type Cluster struct {
	env            *envtest.Environment
	kcm            *exec.Cmd
	kcmExited      chan struct{}
	tempLogDir     bool
	logDir         string
	BinDir         string
	Config         *rest.Config // admin (system:masters)
	KubeconfigPath string
}

// Start launches etcd, kube-apiserver and, when asked, kube-controller-manager; installs the CRDs and writes the
// admin kubeconfig. On error nothing is left running.
func Start(opts Options) (*Cluster, error) {
	bins := []string{"etcd", "kube-apiserver", "kubectl"}
	if opts.ControllerManager {
		bins = append(bins, "kube-controller-manager")
	}
	for _, bin := range bins {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("control-plane binary %s not found in %s: run `make controlplane` to build it: %w",
				bin, opts.BinDir, err)
		}
	}
	env := &envtest.Environment{BinaryAssetsDirectory: opts.BinDir}
	if opts.CRDDir != "" {
		env.CRDDirectoryPaths = []string{opts.CRDDir}
		env.ErrorIfCRDPathMissing = true
	}
	serviceRange := opts.ServiceIPRange
	if serviceRange == "" {
		serviceRange = DefaultServiceIPRange
	}
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", serviceRange)
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", opts.BinDir, err)
	}
	c := &Cluster{env: env, BinDir: opts.BinDir, KubeconfigPath: opts.KubeconfigPath, logDir: opts.LogDir}
	err := c.writeKubeconfig()
	if err == nil && opts.ControllerManager {
		err = c.startControllerManager(opts.MaxEndpointsPerSlice)
	}
	if err != nil {
		_ = c.Stop()
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
	return writeUserKubeconfig(admin, c.KubeconfigPath)
}

func writeUserKubeconfig(user *envtest.AuthenticatedUser, path string) error {
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("render a kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the directory of %s: %w", path, err)
	}
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// startControllerManager runs kube-controller-manager with only the controllers that turn Pods into
// EndpointSlices (and legacy Endpoints). Node lifecycle, Pod GC and taint eviction stay off: with no kubelet they
// would act on the simulated Node.
func (c *Cluster) startControllerManager(maxEndpointsPerSlice int) error {
	if c.logDir == "" {
		dir, err := os.MkdirTemp("", "localcluster-")
		if err != nil {
			return fmt.Errorf("create a log directory: %w", err)
		}
		c.logDir, c.tempLogDir = dir, true
	} else if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return fmt.Errorf("create the log directory %s: %w", c.logDir, err)
	}
	user, err := c.env.AddUser(envtest.User{Name: "system:kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("create the kube-controller-manager user: %w", err)
	}
	kubeconfig := filepath.Join(c.logDir, "kube-controller-manager.kubeconfig")
	if err := writeUserKubeconfig(user, kubeconfig); err != nil {
		return err
	}
	logFile, err := os.Create(c.ControllerManagerLog())
	if err != nil {
		return fmt.Errorf("create the kube-controller-manager log: %w", err)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=endpointslice-controller,endpoints-controller",
		"--leader-elect=false",
		"--secure-port=0",
		// Without a batch period, quick successive Pod changes hit ~1 s "informer cache is out of date" retries.
		"--endpointslice-updates-batch-period=20ms",
		"--v=2",
	}
	if maxEndpointsPerSlice > 0 {
		args = append(args, fmt.Sprintf("--max-endpoints-per-slice=%d", maxEndpointsPerSlice))
	}
	cmd := exec.Command(filepath.Join(c.BinDir, "kube-controller-manager"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Dies with its parent even when the parent is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start kube-controller-manager: %w", err)
	}
	c.kcm, c.kcmExited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(c.kcmExited) }()
	// A bad flag or kubeconfig makes it exit at once; say so rather than leave EndpointSlices unwritten.
	select {
	case <-c.kcmExited:
		return fmt.Errorf("kube-controller-manager exited at start (%s); see %s", cmd.ProcessState, c.ControllerManagerLog())
	case <-time.After(time.Second):
		return nil
	}
}

// ControllerManagerExited is closed when kube-controller-manager exits (nil without one).
func (c *Cluster) ControllerManagerExited() <-chan struct{} { return c.kcmExited }

// ControllerManagerLog is the path of kube-controller-manager's log ("" without a controller manager).
func (c *Cluster) ControllerManagerLog() string {
	if c.logDir == "" {
		return ""
	}
	return filepath.Join(c.logDir, "kube-controller-manager.log")
}

// Stop terminates kube-controller-manager, kube-apiserver and etcd, and removes their temporary directories
// (including the log directory when Start created it).
func (c *Cluster) Stop() error {
	var errs []error
	if c.kcm != nil {
		_ = c.kcm.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.kcmExited:
		case <-time.After(10 * time.Second):
			_ = c.kcm.Process.Kill()
			<-c.kcmExited
		}
	}
	if err := c.env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop kube-apiserver and etcd: %w", err))
	}
	if c.tempLogDir {
		errs = append(errs, os.RemoveAll(c.logDir))
	}
	return errors.Join(errs...)
}
