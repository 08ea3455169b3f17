// Package ofrep proves the OpenFeature Remote Evaluation Protocol with the real SDKs against a real manager:
// kube-apiserver and etcd run locally, bin/manager serves its API on loopback (--api-insecure) and reaches
// kube-apiserver through a testutil.Proxy, the web SDK reaches it through a proxy that serves it under a path prefix
// (as an Ingress would, without X-Forwarded-Prefix: --api-path-prefix names it), the suite flips a Service's EndpointSlice not ready and back, and watches
// the flag maintenance follow through github.com/open-feature/go-sdk with its OFREP provider, through
// @openfeature/web-sdk with @openfeature/ofrep-web-provider in headless Chromium, and through the README's
// EventSource and polling examples; then it refuses the manager's connections to kube-apiserver and watches both
// SDKs keep the last value with metadata stale true, and false again once it is back. It prints the delays it
// measured.
package ofrep

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	namespace = "shop"
	// checker is the ServiceChecker whose critical Service checkout the suite flips.
	checker = namespace + "/storefront"
	// boundSSE is the bound from an outage to a client's flag value when the event stream is served.
	boundSSE = 2 * time.Second
	// staleAfter is short so that the stale scenario takes seconds; the manager's default is 30 s.
	staleAfter = 2 * time.Second
)

var (
	cluster   *localcluster.Cluster
	k8sClient client.Client // straight to kube-apiserver, never through apiProxy
	// apiProxy carries the manager's traffic to kube-apiserver, so that the suite can cut it off.
	apiProxy   *testutil.Proxy
	manager    *exec.Cmd
	exited     = make(chan struct{})
	managerLog = &testutil.SyncBuffer{}
	logDir     string
	// api is the manager's API, http://127.0.0.1:port; pageOrigin the test page's server, the one origin CORS allows.
	api, pageAddr string
	pageOrigin    string
	// ingress serves the API under pathPrefix and strips it, sending no X-Forwarded-Prefix: the manager's
	// --api-path-prefix tells it where its event stream is.
	ingress *testutil.PrefixProxy
)

// pathPrefix is where ingress serves the API.
const pathPrefix = "/mwm"

func TestOFREP(t *testing.T) {
	RegisterFailHandler(Fail)
	suiteConfig, reporterConfig := GinkgoConfiguration()
	if suiteConfig.Timeout > 5*time.Minute {
		suiteConfig.Timeout = 5 * time.Minute // before go test's 10 minutes, so that AfterSuite stops what it started
	}
	RunSpecs(t, "OFREP suite", suiteConfig, reporterConfig)
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test-ofrep`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s")
	}
	managerBin, err := testutil.Binary("MANAGER", "manager")
	Expect(err).NotTo(HaveOccurred())
	logDir, err = os.MkdirTemp("", "mwm-ofrep-")
	Expect(err).NotTo(HaveOccurred())
	timed("start kube-apiserver and etcd", func() {
		cluster, err = localcluster.Start(localcluster.Options{BinDir: assets,
			KubeconfigPath: filepath.Join(logDir, "admin.kubeconfig"), CRDDir: filepath.Join("..", "..", "config", "crd", "bases")})
		Expect(err).NotTo(HaveOccurred())
	})
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	timed("create Service shop/checkout (ready) and ServiceChecker shop/storefront (checkout critical)", func() {
		Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Expect(k8sClient.Create(ctx(), testutil.Service(namespace, "checkout"))).To(Succeed())
		Expect(k8sClient.Create(ctx(), testutil.EndpointSlice(namespace, "checkout", 2, true))).To(Succeed())
		Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "storefront"},
			Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "checkout", Critical: true}}}})).To(Succeed())
	})

	pageAddr = testutil.FreeAddr()
	pageOrigin = "http://" + pageAddr
	apiAddr := testutil.FreeAddr()
	api = "http://" + apiAddr
	timed("start bin/manager with --api-insecure on loopback, reaching kube-apiserver through a proxy", func() {
		managerKubeconfig := filepath.Join(logDir, "manager.kubeconfig")
		apiProxy, err = testutil.ProxiedKubeconfig(cluster.KubeconfigPath, managerKubeconfig, 5*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		logFile, err := os.Create(filepath.Join(logDir, "manager.log"))
		Expect(err).NotTo(HaveOccurred())
		manager = exec.Command(managerBin, "--kubeconfig", managerKubeconfig, "--stale-after", staleAfter.String(),
			"--api-insecure", "--api-bind-address", apiAddr, "--api-cors-allowed-origins", pageOrigin,
			"--api-path-prefix", pathPrefix,
			"--metrics-bind-address", "0", "--health-probe-bind-address", testutil.FreeAddr(),
			"--api-sse-heartbeat", "5s", "--zap-time-encoding", "rfc3339nano")
		manager.Stdout, manager.Stderr = io.MultiWriter(managerLog, logFile), io.MultiWriter(managerLog, logFile)
		manager.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives a killed suite
		Expect(manager.Start()).To(Succeed())
		go func() { _ = manager.Wait(); _ = logFile.Close(); close(exited) }()
		Eventually(func() (int, error) {
			resp, err := http.Get(api + "/status?checker=" + checker)
			if err != nil {
				return 0, err
			}
			_ = resp.Body.Close()
			return resp.StatusCode, nil
		}).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Equal(http.StatusOK),
			"bin/manager never served /status; its log is in %s", logDir)
	})
	ingress, err = testutil.StartPrefixProxy(pathPrefix, apiAddr)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if manager != nil && manager.Process != nil {
		_ = manager.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
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

// What the suite measured, printed after it (go test -v shows it; make test-ofrep runs it so).
var (
	measuredMu sync.Mutex
	measured   []string
)

func measure(what string, d time.Duration) {
	measuredMu.Lock()
	defer measuredMu.Unlock()
	measured = append(measured, fmt.Sprintf("%8.3fs  %s", d.Seconds(), what))
}

func timed(step string, fn func()) {
	start := time.Now()
	By(step)
	fn()
	measure("set-up: "+step, time.Since(start))
}

var _ = ReportAfterSuite("what the OFREP suite measured", func(r Report) {
	measuredMu.Lock()
	defer measuredMu.Unlock()
	fmt.Printf("\nOFREP suite (test/ofrep, issue #19), %s:\n%s\n\n", r.RunTime.Round(time.Second), strings.Join(measured, "\n"))
	if !r.SuiteSucceeded {
		fmt.Printf("OFREP suite: logs kept in %s (manager.log)\n", logDir)
		return
	}
	_ = os.RemoveAll(logDir)
})

func ctx() context.Context { return context.Background() }

// setReady makes every endpoint of shop/checkout ready or not and returns when kube-apiserver accepted it: the
// moment of the outage or the recovery.
func setReady(ready bool) time.Time {
	var slice discoveryv1.EndpointSlice
	ExpectWithOffset(1, k8sClient.Get(ctx(), types.NamespacedName{Namespace: namespace, Name: "checkout-1"}, &slice)).To(Succeed())
	slice.Endpoints = testutil.EndpointSlice(namespace, "checkout", 2, ready).Endpoints
	ExpectWithOffset(1, k8sClient.Update(ctx(), &slice)).To(Succeed())
	return time.Now()
}

// getStatus is GET /status?checker= of the suite's ServiceChecker, as JSON.
func getStatus() (map[string]any, error) {
	resp, err := http.Get(api + "/status?checker=" + checker)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var status map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		return nil, err
	}
	return status, nil
}

// reconnected waits until the manager, its proxy passing again, is fresh and follows a flip of checkout: the next
// spec may measure delays again.
func reconnected() {
	Expect(apiProxy.SetMode(testutil.ProxyPass)).To(Succeed())
	Eventually(getStatus).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).
		Should(HaveKeyWithValue("stale", false), "the manager never confirmed contact again")
	for _, ready := range []bool{false, true} {
		setReady(ready)
		Eventually(getStatus).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).
			Should(HaveKeyWithValue("maintenance", !ready), "the manager's watches never resumed")
	}
}
