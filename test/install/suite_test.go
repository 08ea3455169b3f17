// Package install proves dist/install.yaml against a real kube-apiserver: every object is accepted, and the
// manager binary running with exactly the install's RBAC (impersonating its ServiceAccount) does its whole job,
// while removing any one rule of its roles breaks it.
package install

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
	kubeconfig string // admin
	kubectl    string
	manager    string
	repoRoot   = filepath.Join("..", "..")
)

func TestInstall(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Install Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s after `make controlplane`")
	}
	kubectl = filepath.Join(assets, "kubectl")
	manager = os.Getenv("MANAGER")
	if manager == "" {
		manager = filepath.Join(repoRoot, "bin", "manager")
	}
	_, err := os.Stat(manager)
	Expect(err).NotTo(HaveOccurred(), "the manager binary is built by `make build`; set MANAGER to use another")

	// No CRDs: the install brings its own.
	testEnv, adminCfg, kubeconfig, err = testutil.StartAdminEnv("install-admin", GinkgoT().TempDir())
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
