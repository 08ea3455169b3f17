// Package chartrepo proves the chart repository a release publishes: hack/release/chart-repo.sh (the script the
// release workflow runs) packages the chart for two releases, the second merging the first's index.yaml, into a
// loopback server laid out like GitHub's release downloads; then bin/helm adds that repository from the "latest"
// URL, finds both versions and installs the newest into a real kube-apiserver. hack/release/chart-push.sh (the
// workflow's OCI push) then pushes the chart to a registry on loopback, from which helm renders it by version and by
// the digest the workflow signs.
package chartrepo

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

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

var (
	testEnv    *envtest.Environment
	k8sClient  client.Client
	kubeconfig string // admin, for helm
	helmBin    string
	repoRoot   = filepath.Join("..", "..")
)

func TestChartRepo(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Chart repository suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s after `make controlplane`")
	}
	var err error
	helmBin, err = testutil.Binary("HELM", "helm")
	Expect(err).NotTo(HaveOccurred())

	// No CRDs: the chart brings its own.
	var admin *rest.Config
	testEnv, admin, kubeconfig, err = testutil.StartAdminEnv("chartrepo-admin", GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(admin, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
