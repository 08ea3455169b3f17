// Package browser tests the status page (issue #19) in real headless Chromium: kube-apiserver and etcd run locally,
// bin/manager serves its API in plain HTTP on loopback and reaches kube-apiserver through a testutil.Proxy (so the
// suite can cut it off), and Chromium opens the page through a reverse proxy that strips a path prefix, as an Ingress
// would. The suite changes EndpointSlices and MaintenanceWindows straight on kube-apiserver and watches the page
// follow without a reload. With MWM_UPDATE_SCREENSHOTS=1 (make screenshots) it writes docs/status-page.png and
// docs/status-page-dark.png.
package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	namespace = "shop"
	checker   = namespace + "/storefront"
	// staleAfter is short so that the stale scenario takes seconds; the manager's default is 30 s.
	staleAfter = 2 * time.Second
	// prefix is where the suite's Ingress-like reverse proxy serves the API, stripping it.
	prefix = "/mwm"
)

var (
	cluster   *localcluster.Cluster
	k8sClient client.Client // straight to kube-apiserver, never through the proxy
	apiProxy  *testutil.Proxy
	manager   *exec.Cmd
	// managerBin is bin/manager, for the scenario that starts a second replica.
	managerBin string
	exited     = make(chan struct{})
	apiAddr    string // the manager's API, http://<apiAddr>/
	ingress    *testutil.PrefixProxy
	browser    *testutil.Browser
	logDir     string
	logs       = &testutil.SyncBuffer{}
)

func TestBrowser(t *testing.T) {
	RegisterFailHandler(Fail)
	suiteConfig, reporterConfig := GinkgoConfiguration()
	if suiteConfig.Timeout > 4*time.Minute {
		suiteConfig.Timeout = 4 * time.Minute // the budget is 3 minutes warm; stop what we started before go test's 10
	}
	RunSpecs(t, "Status page in Chromium", suiteConfig, reporterConfig)
}

var _ = BeforeSuite(func() {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test-browser`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s")
	}
	var err error
	managerBin, err = testutil.Binary("MANAGER", "manager")
	Expect(err).NotTo(HaveOccurred())
	// First, so that a missing Chromium fails (or skips, when optional) before a control plane starts.
	browser, err = testutil.StartBrowser(GinkgoTB())
	Expect(err).NotTo(HaveOccurred())

	logDir, err = os.MkdirTemp("", "mwm-browser-")
	Expect(err).NotTo(HaveOccurred())
	cluster, err = localcluster.Start(localcluster.Options{BinDir: assets, KubeconfigPath: filepath.Join(logDir, "admin.kubeconfig"),
		CRDDir: filepath.Join("..", "..", "config", "crd", "bases")})
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(createWorld(context.Background())).To(Succeed())

	primary, err := startReplica(managerBin, logs)
	Expect(err).NotTo(HaveOccurred())
	apiProxy, manager, exited, apiAddr = primary.proxy, primary.cmd, primary.exited, primary.apiAddr
	Eventually(primary.synced).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(),
		func() string { return logs.String() })

	ingress, err = testutil.StartPrefixProxy(prefix, apiAddr)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if manager != nil && manager.Process != nil {
		_ = manager.Process.Kill()
		<-exited
	}
	if ingress != nil {
		ingress.Close()
	}
	if apiProxy != nil {
		apiProxy.Close()
	}
	if cluster != nil {
		Expect(cluster.Stop()).To(Succeed())
	}
})

var _ = ReportAfterSuite("the browser suite's logs", func(r Report) {
	if logDir == "" {
		return
	}
	if !r.SuiteSucceeded || os.Getenv("BROWSER_KEEP_LOGS") != "" {
		_ = os.WriteFile(filepath.Join(logDir, "manager.log"), []byte(logs.String()), 0o644)
		fmt.Printf("browser suite: logs kept in %s (manager.log, kube-apiserver's in envtest's directory)\n", logDir)
		return
	}
	_ = os.RemoveAll(logDir)
})

// replica is a bin/manager serving its API in plain HTTP on loopback and reaching kube-apiserver through its own
// testutil.Proxy, so that the suite can cut it off.
type replica struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	apiAddr string
	proxy   *testutil.Proxy
}

func startReplica(managerBin string, out io.Writer) (*replica, error) {
	r := &replica{exited: make(chan struct{}), apiAddr: testutil.FreeAddr()}
	path := filepath.Join(logDir, "manager-"+r.apiAddr+".kubeconfig")
	var err error
	if r.proxy, err = testutil.ProxiedKubeconfig(cluster.KubeconfigPath, path, 5*time.Minute); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(managerBin, "--kubeconfig", path, "--api-insecure", "--api-bind-address", r.apiAddr,
		"--stale-after", staleAfter.String(), "--metrics-bind-address", testutil.FreeAddr(), "--metrics-secure=false",
		"--health-probe-bind-address", testutil.FreeAddr())
	r.cmd.Stdout, r.cmd.Stderr = out, out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives a killed suite
	if err := r.cmd.Start(); err != nil {
		r.proxy.Close()
		return nil, err
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	return r, nil
}

// synced fails until the replica serves ServiceChecker shop/storefront with both Services ready.
func (r *replica) synced(g Gomega) {
	resp, err := http.Get("http://" + r.apiAddr + "/status?checker=" + checker)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(string(body)).To(ContainSubstring(`"ready":2`), "both Services checked and ready")
}

// stop kills the replica and closes its proxy.
func (r *replica) stop() {
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.proxy.Close()
}

// createWorld makes ServiceChecker shop/storefront of a critical Service (checkout) and a non-critical one (search),
// each with an EndpointSlice of two ready endpoints.
func createWorld(ctx context.Context) error {
	if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	for _, name := range []string{"checkout", "search"} {
		if err := k8sClient.Create(ctx, testutil.Service(namespace, name)); err != nil {
			return fmt.Errorf("create Service %s: %w", name, err)
		}
		if err := k8sClient.Create(ctx, testutil.EndpointSlice(namespace, name, 2, true)); err != nil {
			return fmt.Errorf("create the EndpointSlice of %s: %w", name, err)
		}
	}
	return k8sClient.Create(ctx, &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "storefront"},
		Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
			{Name: "checkout", Critical: true}, {Name: "search"}}},
	})
}

// setReady makes every endpoint of Service name ready or not, straight on kube-apiserver.
func setReady(name string, ready bool) {
	var slice discoveryv1.EndpointSlice
	ExpectWithOffset(1, k8sClient.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: name + "-1"},
		&slice)).To(Succeed())
	slice.Endpoints = testutil.EndpointSlice(namespace, name, 2, ready).Endpoints
	ExpectWithOffset(1, k8sClient.Update(context.Background(), &slice)).To(Succeed())
}
