// Package e2e proves the whole chain with real Kubernetes parts: Pods whose status the suite reports as a kubelet
// would, Kubernetes' own EndpointSlice controller (kube-controller-manager) writing the slices, the bin/manager
// binary installed with dist/install.yaml's or the Helm chart's RBAC, and what users read: HTTPS /services,
// /status and /windows, bin/mwmctl (both sources), kubectl wait and get; MaintenanceWindows start and end on the
// real clock.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/kubeletsim"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

var (
	cluster    *localcluster.Cluster
	k8sClient  client.Client
	kubelet    *kubeletsim.Kubelet
	logDir     string
	kubeconfig string // admin
	kubectlBin string
	managerBin string
	mwmctlBin  string
	helmBin    string
	repoRoot   = filepath.Join("..", "..")
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test-e2e`, which builds the control plane into bin/k8s")
	}
	var err error
	managerBin, err = testutil.Binary("MANAGER", "manager")
	Expect(err).NotTo(HaveOccurred())
	mwmctlBin, err = testutil.Binary("MWMCTL", "mwmctl")
	Expect(err).NotTo(HaveOccurred())
	helmBin, err = testutil.Binary("HELM", "helm")
	Expect(err).NotTo(HaveOccurred())
	kubectlBin = filepath.Join(assets, "kubectl")

	logDir, err = os.MkdirTemp("", "mwm-e2e-")
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(logDir, "admin.kubeconfig")
	timed("start kube-apiserver, etcd and kube-controller-manager", func() {
		// Two endpoints per slice: a Service's endpoints spread over several slices and move between them.
		cluster, err = localcluster.Start(localcluster.Options{BinDir: assets, KubeconfigPath: kubeconfig,
			ControllerManager: true, LogDir: logDir, MaxEndpointsPerSlice: 2})
		Expect(err).NotTo(HaveOccurred())
	})
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	kubelet = kubeletsim.New(k8sClient, "node-1")
	Expect(kubelet.RegisterNode(ctx())).To(Succeed())
})

var _ = AfterSuite(func() {
	if cluster != nil {
		Expect(cluster.Stop()).To(Succeed())
	}
})

// Step durations, printed after the suite (go test -v shows them; `make test-e2e` runs it so).
var (
	durationsMu sync.Mutex
	durations   []string
)

func timed(step string, fn func()) {
	start := time.Now()
	defer func() {
		durationsMu.Lock()
		durations = append(durations, fmt.Sprintf("%8.2fs  %s", time.Since(start).Seconds(), step))
		durationsMu.Unlock()
	}()
	By(step)
	fn()
}

var _ = ReportAfterSuite("step durations and logs", func(r Report) {
	durationsMu.Lock()
	defer durationsMu.Unlock()
	fmt.Printf("\ne2e step durations:\n%s\n\n", strings.Join(durations, "\n"))
	if !r.SuiteSucceeded {
		fmt.Printf("e2e: logs kept in %s (kube-controller-manager.log, manager-*.log)\n", logDir)
		return
	}
	_ = os.RemoveAll(logDir)
})
