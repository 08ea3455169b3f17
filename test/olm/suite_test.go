// Package olm proves the OLM bundle (bundle/) and the file-based catalog (catalog/): the validators the community
// catalogs run find nothing, the bundle agrees with config/ (CRD, RBAC, image, labels), and a real kube-apiserver
// with OLM's CRDs installed accepts the CSV and every other bundle object.
package olm

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/operator-framework/api/crds"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
)

const packageName = "maintenance-window-manager"

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	repoRoot  = filepath.Join("..", "..")
	bundleDir = filepath.Join(repoRoot, "bundle")
)

func TestOLM(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "OLM bundle suite")
}

var _ = BeforeSuite(func() {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s after `make controlplane`")
	}
	// OLM's own CRDs, as operator-framework/api publishes them; the bundle's CRD is installed by a spec.
	testEnv = &envtest.Environment{CRDs: []*apiextensionsv1.CustomResourceDefinition{
		crds.ClusterServiceVersion(), crds.OperatorGroup(), crds.Subscription(), crds.CatalogSource(),
		crds.InstallPlan(), crds.OperatorCondition(),
	}}
	// The Service range of every suite and of run-local (localcluster.DefaultServiceIPRange).
	testEnv.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", localcluster.DefaultServiceIPRange)
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(rest.CopyConfig(cfg), client.Options{})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
