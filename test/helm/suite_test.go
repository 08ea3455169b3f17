// Package helm proves the Helm chart (charts/maintenance-window-manager): Helm itself lints and renders it, installs,
// upgrades and uninstalls a release on a real kube-apiserver, and bin/manager runs with the chart's ServiceAccount,
// flags and certificate while bin/mwmctl verifies that certificate.
package helm

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

var (
	testEnv    *envtest.Environment
	adminCfg   *rest.Config
	k8sClient  client.Client
	kubeconfig string // admin, for helm
	helmBin    string
	managerBin string
	mwmctlBin  string
	repoRoot   = filepath.Join("..", "..")
	chartDir   = filepath.Join(repoRoot, "charts", "maintenance-window-manager")
)

func TestHelm(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Helm chart suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s after `make controlplane`")
	}
	var err error
	helmBin, err = testutil.Binary("HELM", "helm")
	Expect(err).NotTo(HaveOccurred())
	managerBin, err = testutil.Binary("MANAGER", "manager")
	Expect(err).NotTo(HaveOccurred())
	mwmctlBin, err = testutil.Binary("MWMCTL", "mwmctl")
	Expect(err).NotTo(HaveOccurred())

	// No CRDs: the chart brings its own.
	testEnv, adminCfg, kubeconfig, err = testutil.StartAdminEnv("helm-admin", GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(adminCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
