// Package badinput replays a committed corpus of malformed and hostile HTTP requests (testdata/http-corpus) over raw
// TLS connections against a running bin/manager, on a local kube-apiserver and etcd with two ServiceCheckers, and
// proves what issue #15 asks: never a 5xx other than the documented ones, never a panic, the same process serving
// /healthz at the end, and every answer the API's handlers write is the documented JSON error; the requests net/http
// rejects before any handler runs get its own plain-text answers, which docs/api.md lists.
package badinput

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
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
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// allowedOrigin is the one origin the manager allows, so that the corpus's Origin headers reach both CORS branches.
const allowedOrigin = "https://shop.example.com"

var (
	cluster   *localcluster.Cluster
	k8sClient client.Client
	manager   *managerProcess
	repoRoot  = filepath.Join("..", "..")
)

func TestBadInput(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Bad input suite")
}

func ctx() context.Context { return context.Background() }

var _ = BeforeSuite(func() {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, or export KUBEBUILDER_ASSETS=$PWD/bin/k8s after `make controlplane`")
	}
	bin, err := testutil.Binary("MANAGER", "manager")
	Expect(err).NotTo(HaveOccurred())

	dir := GinkgoT().TempDir()
	cluster, err = localcluster.Start(localcluster.Options{BinDir: assets,
		CRDDir: filepath.Join(repoRoot, "config", "crd", "bases"), KubeconfigPath: filepath.Join(dir, "kubeconfig")})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(cluster.Stop()).To(Succeed()) })

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	createWorld()

	manager = startManager(bin, cluster.KubeconfigPath)
	DeferCleanup(manager.stop)
	Eventually(manager.synced).WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(),
		"the manager did not serve both ServiceCheckers' verdicts; its log:\n%s", manager.log.String())
})

// createWorld makes two ServiceCheckers that share a Service: shop/storefront (checkout critical and ready, search
// with no endpoints) and ops/oncall (data/db critical and missing, checkout).
func createWorld() {
	for _, ns := range []string{"shop", "data", "ops"} {
		Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	for _, name := range []string{"checkout", "search"} {
		Expect(k8sClient.Create(ctx(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}},
		})).To(Succeed())
	}
	Expect(k8sClient.Create(ctx(), &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "checkout"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"},
		Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
			{Name: "checkout", Critical: true}, {Name: "search"}}},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "oncall"},
		Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
			{Name: "db", Namespace: "data", Critical: true}, {Name: "checkout", Namespace: "shop"}}},
	})).To(Succeed())
}

// managerProcess is bin/manager with its log, its API and probe addresses, and a channel closed when it exits.
type managerProcess struct {
	cmd             *exec.Cmd
	pid             int
	apiAddr, probes string
	log             *testutil.SyncBuffer
	exited          chan struct{}
	client          *http.Client
}

func startManager(bin, kubeconfig string) *managerProcess {
	m := &managerProcess{apiAddr: testutil.FreeAddr(), probes: testutil.FreeAddr(), log: &testutil.SyncBuffer{},
		exited: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} //nolint:gosec // the manager's self-signed certificate
	// TLS with the self-signed certificate a replica generates without --api-cert-dir; no leader election: one replica.
	m.cmd = exec.Command(bin, "--kubeconfig", kubeconfig, "--api-bind-address", m.apiAddr,
		"--health-probe-bind-address", m.probes, "--metrics-bind-address", "0",
		"--api-cors-allowed-origins", allowedOrigin)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the suite
	Expect(m.cmd.Start()).To(Succeed())
	m.pid = m.cmd.Process.Pid
	go func() { _ = m.cmd.Wait(); close(m.exited) }()
	return m
}

// synced succeeds once the API serves every Service of both ServiceCheckers, checkout ready.
func (m *managerProcess) synced() error {
	if m.alive() != nil {
		return StopTrying("the manager exited").Wrap(m.alive())
	}
	res, err := m.client.Get("https://" + m.apiAddr + "/services")
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	var entries []struct {
		Name     string   `json:"name"`
		Ready    bool     `json:"ready"`
		Checkers []string `json:"checkers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&entries); err != nil {
		return fmt.Errorf("GET /services: %d: %w", res.StatusCode, err)
	}
	for _, e := range entries {
		if e.Name == "checkout" && e.Ready && len(e.Checkers) == 2 && len(entries) == 3 {
			return nil
		}
	}
	return fmt.Errorf("GET /services: %d %+v", res.StatusCode, entries)
}

// alive is nil while the process that started is still running.
func (m *managerProcess) alive() error {
	select {
	case <-m.exited:
		return fmt.Errorf("the manager (PID %d) exited: %v", m.pid, m.cmd.ProcessState)
	default:
		return nil
	}
}

// healthz is nil when the manager answers /healthz with 200.
func (m *managerProcess) healthz() error {
	res, err := m.client.Get("http://" + m.probes + "/healthz")
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s", res.Status)
	}
	return nil
}

func (m *managerProcess) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}
