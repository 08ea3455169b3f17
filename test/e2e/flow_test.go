package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/kubeletsim"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

func ctx() context.Context { return context.Background() }

// installation is how the operator's RBAC got into the cluster: the ServiceAccount the manager acts as.
type installation struct {
	name, namespace, serviceAccount string
}

// manager is bin/manager running as a process with the installation's identity.
type manager struct {
	cmd    *exec.Cmd
	logs   *testutil.SyncBuffer
	apiURL string
	caFile string
	client *http.Client // verifies the API's certificate against caFile
}

// The installations run one after the other (Ginkgo keeps declaration order within a container); each is Ordered
// on its own, so a failure in one does not skip the other.
var _ = Describe("The whole chain", func() {
	Context("installed with dist/install.yaml", Ordered, func() {
		flow(func() installation {
			out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts",
				"-f", filepath.Join(repoRoot, "dist", "install.yaml")).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			return installation{name: "install.yaml", namespace: "maintenance-window-manager-system",
				serviceAccount: "maintenance-window-manager-controller-manager"}
		}, "shop", true)
	})

	Context("installed with the Helm chart", Ordered, func() {
		flow(func() installation {
			cmd := exec.Command(helmBin, "install", "mwm", filepath.Join(repoRoot, "charts", "maintenance-window-manager"),
				"--namespace", "mwm-helm", "--create-namespace", "--kubeconfig", kubeconfig)
			home := GinkgoT().TempDir()
			cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
			out, err := cmd.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			return installation{name: "Helm", namespace: "mwm-helm", serviceAccount: "mwm-maintenance-window-manager-controller-manager"}
		}, "shop-helm", false)
	})
})

// flow registers the specs of one installation, with the storefront's Services in namespace shop; with windows,
// also the MaintenanceWindow specs (windowFlow) and the grace-period specs (graceFlow), which one installation is
// enough to run.
func flow(install func() installation, shop string, windows bool) {
	var (
		inst  installation
		mgr   *manager
		watch *exec.Cmd
		seen  *testutil.SyncBuffer // mwmctl watch's output
	)
	checkoutPods := []string{"checkout-a", "checkout-b"}

	BeforeAll(func() {
		timed(shop+": install", func() { inst = install() })
		timed(shop+": start bin/manager as "+inst.serviceAccount, func() { mgr = startManager(inst) })
		DeferCleanup(func() { mgr.stop() }) // after the last spec of this installation
	})
	AfterAll(func() {
		if watch != nil && watch.ProcessState == nil {
			_ = watch.Process.Signal(os.Interrupt)
			_ = watch.Wait()
		}
		// Leave the cluster to the next installation, whatever failed: no namespace controller runs, so delete
		// what the default namespace holds object by object (each installation has its own shop namespace).
		if mgr != nil {
			mgr.stop()
		}
		_ = k8sClient.Delete(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "default",
			Name: "example-checker"}})
		_ = k8sClient.Delete(ctx(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "my-service"}})
		for _, p := range []string{"my-service-a", "my-service-b"} {
			_ = kubelet.Remove(ctx(), "default", p)
		}
	})

	It("reports every Service ready once Kubernetes has written their EndpointSlices", func() {
		timed(shop+": create Services, Pods and ServiceCheckers", func() {
			createNamespace(shop)
			service("default", "my-service", false)
			service(shop, "checkout", false)
			service(shop, "recommendations", false)
			service(shop, "search", true)
			runPods("default", "my-service", false, "my-service-a", "my-service-b")
			runPods(shop, "checkout", false, checkoutPods...)
			runPods(shop, "recommendations", false, "recommendations-a", "recommendations-b")
			runPods(shop, "search", true, "search-a")
			out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "apply", "-n", "default",
				"-f", filepath.Join(repoRoot, "config", "samples", "maintenance_v1alpha1_servicechecker.yaml")).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
				ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "storefront"},
				Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
					{Name: "checkout", Critical: true}, {Name: "recommendations", MinReady: 2}, {Name: "search"}}},
			})).To(Succeed())
		})
		timed(shop+": wait until /services and mwmctl (API and kubeconfig) show every Service ready", func() {
			Eventually(func(g Gomega) {
				entries := mgr.services(g)
				g.Expect(entries).To(ContainElements(
					readyEntry("default", "my-service", 2), readyEntry(shop, "checkout", 2),
					readyEntry(shop, "recommendations", 2), readyEntry(shop, "search", 1)))
			}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
			for _, source := range [][]string{{"--api-url", mgr.apiURL, "--api-ca-file", mgr.caFile}, {"--kubeconfig", kubeconfig}} {
				out, code := mwmctl(append([]string{"status", "-o", "json"}, source...)...)
				Expect(code).To(Equal(0), out)
				var entries []snapshot.Entry
				Expect(json.Unmarshal([]byte(out), &entries)).To(Succeed(), out)
				Expect(entries).To(ContainElements(readyEntry(shop, "checkout", 2), readyEntry(shop, "search", 1)), source[0])
			}
		})
		// The dual-stack Pod is in an IPv4 and an IPv6 slice, and counts once.
		slices := &discoveryv1.EndpointSliceList{}
		Expect(k8sClient.List(ctx(), slices, client.InNamespace(shop),
			client.MatchingLabels{discoveryv1.LabelServiceName: "search"})).To(Succeed())
		families := make([]discoveryv1.AddressType, 0, len(slices.Items))
		for _, s := range slices.Items {
			families = append(families, s.AddressType)
		}
		Expect(families).To(ConsistOf(discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6))
		for _, s := range slices.Items {
			Expect(s.ManagedFields).NotTo(BeEmpty())
			Expect(s.Labels).To(HaveKeyWithValue(discoveryv1.LabelManagedBy, "endpointslice-controller.k8s.io"))
		}

		seen = &testutil.SyncBuffer{}
		watch = exec.Command(mwmctlBin, "watch", "--api-url", mgr.apiURL, "--api-ca-file", mgr.caFile, "--checker", shop+"/storefront")
		watch.Stdout, watch.Stderr = seen, seen
		watch.Env = []string{"NO_COLOR=1", "HOME=" + GinkgoT().TempDir()}
		watch.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives a killed suite
		Expect(watch.Start()).To(Succeed())
		Eventually(seen.String).WithTimeout(10 * time.Second).Should(ContainSubstring(shop + "/checkout"))
	})

	It("enters maintenance when the critical Service's Pods stop being ready, and leaves it when they recover", func() {
		timed(shop+": outage (Pods not ready -> Maintenance=True, /status, check, watch)", func() {
			for _, p := range checkoutPods {
				Expect(kubelet.SetReady(ctx(), shop, p, false)).To(Succeed())
			}
			kubectlWait(shop, "Maintenance=True")
			Eventually(func(g Gomega) {
				g.Expect(mgr.status(g)).To(And(HaveKeyWithValue("maintenance", true),
					HaveKeyWithValue("criticalNotReady", ContainElement(shop+"/checkout"))))
			}).WithTimeout(10 * time.Second).Should(Succeed())
			out, code := mwmctl("check", "--api-url", mgr.apiURL, "--api-ca-file", mgr.caFile, "--checker", shop+"/storefront")
			Expect(code).To(Equal(1), out)
			Eventually(seen.String).WithTimeout(10 * time.Second).Should(MatchRegexp(`not-ready\s+` + shop + `/checkout`))
		})
		timed(shop+": recovery (Pods ready -> Maintenance=False)", func() {
			for _, p := range checkoutPods {
				Expect(kubelet.SetReady(ctx(), shop, p, true)).To(Succeed())
			}
			kubectlWait(shop, "Maintenance=False")
			// The API's snapshot follows the status it is built from.
			Eventually(func() int {
				_, code := mwmctl("check", "--api-url", mgr.apiURL, "--api-ca-file", mgr.caFile, "--checker", shop+"/storefront")
				return code
			}).WithTimeout(10 * time.Second).Should(Equal(0))
			Eventually(seen.String).WithTimeout(10 * time.Second).Should(MatchRegexp(`\sready\s+` + shop + `/checkout`))
		})
	})

	It("never shows the Service down during a rolling replacement", func() {
		timed(shop+": rolling replacement of checkout's Pods (minReady 2, terminating Pods, slices of 2)", func() {
			// Two ready endpoints needed: one missing endpoint at any moment would show as not ready.
			checker := &v1alpha1.ServiceChecker{}
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: shop, Name: "storefront"}, checker)).To(Succeed())
			checker.Spec.Services[0].MinReady = 2
			Expect(k8sClient.Update(ctx(), checker)).To(Succeed())
			Eventually(func(g Gomega) { g.Expect(mgr.checkout(g, shop).Ready).To(BeTrue()) }).
				WithTimeout(10 * time.Second).Should(Succeed())

			mark := len(seen.String())
			var samples, notReady, failures atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { // no Gomega here: a failed sample is counted, never a panic outside the spec
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					entries, err := mgr.fetchServices()
					if err != nil {
						failures.Add(1)
						continue
					}
					for _, e := range entries {
						if e.Namespace == shop && e.Name == "checkout" {
							samples.Add(1)
							if !e.Ready {
								notReady.Add(1)
							}
						}
					}
				}
			})
			// Like a Deployment with maxSurge 1, maxUnavailable 0: a new Pod is ready before an old one goes; the old
			// one first terminates (its endpoint not ready, still serving) and is then removed.
			replacements := []string{"checkout-c", "checkout-d"}
			for i, old := range checkoutPods {
				runPods(shop, "checkout", false, replacements[i])
				Eventually(func(g Gomega) { g.Expect(mgr.checkout(g, shop).ReadyEndpoints).To(BeEquivalentTo(3)) }).
					WithTimeout(10 * time.Second).Should(Succeed())
				Expect(kubelet.SetReady(ctx(), shop, old, false)).To(Succeed())
				Eventually(func(g Gomega) { g.Expect(mgr.checkout(g, shop).ReadyEndpoints).To(BeEquivalentTo(2)) }).
					WithTimeout(10 * time.Second).Should(Succeed())
				Expect(kubelet.Remove(ctx(), shop, old)).To(Succeed())
			}
			Eventually(func(g Gomega) {
				slices := &discoveryv1.EndpointSliceList{}
				g.Expect(k8sClient.List(ctx(), slices, client.InNamespace(shop),
					client.MatchingLabels{discoveryv1.LabelServiceName: "checkout"})).To(Succeed())
				var pods []string
				for _, sl := range slices.Items {
					for _, ep := range sl.Endpoints {
						pods = append(pods, ep.TargetRef.Name)
					}
				}
				g.Expect(pods).To(ConsistOf(replacements))
			}).WithTimeout(10 * time.Second).Should(Succeed())
			close(stop)
			wg.Wait()
			Expect(samples.Load()).To(BeNumerically(">", 20))
			Expect(failures.Load()).To(BeNumerically("<", samples.Load()/10+1), "most samples of /services failed")
			Expect(notReady.Load()).To(BeZero(), "checkout was reported not ready during the rollout")
			Expect(seen.String()[mark:]).NotTo(ContainSubstring("not-ready"), "mwmctl watch saw checkout go down")
			GinkgoWriter.Printf("rolling replacement: %d samples of /services, none not ready\n", samples.Load())
		})
	})

	// A StatefulSet's governing Service publishes its Pods' addresses before they are ready: kube-controller-manager
	// then writes ready=true for every endpoint, and only serving says whether the Pod is ready.
	It("judges a Service with publishNotReadyAddresses by serving, not by the ready that it always publishes", func() {
		// The ServiceChecker of the headless Service db; everything is deleted again, for the next spec.
		checker := client.ObjectKey{Namespace: shop, Name: "database"}
		DeferCleanup(func() {
			_ = k8sClient.Delete(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: checker.Name}})
			_ = k8sClient.Delete(ctx(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "db"}})
			_ = kubelet.Remove(ctx(), shop, "db-0")
		})
		// observe waits until kube-controller-manager's slice shows the Pod's readiness in serving (ready stays true:
		// that is what publishNotReadyAddresses does), then until every answer agrees, and records what each said.
		var record []string
		observe := func(podReady bool, reason, message string) {
			slice := endpointSlice(shop, "db", podReady)
			Expect(slice.Endpoints[0].Conditions).To(Equal(discoveryv1.EndpointConditions{
				Ready: ptr.To(true), Serving: ptr.To(podReady), Terminating: ptr.To(false)}))
			lines := []string{describeEndpoint(slice), mgr.expectVerdict(checker, "db", podReady, reason, message)}
			GinkgoWriter.Println(strings.Join(lines, "\n"))
			record = append(record, lines...)
		}
		timed(shop+": publishNotReadyAddresses, Pod not ready (ready=true, serving=false -> NoReadyEndpoints)", func() {
			Expect(k8sClient.Create(ctx(), &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "db"},
				Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, PublishNotReadyAddresses: true,
					Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Name: "postgres", Port: 5432}}},
			})).To(Succeed())
			_, err := kubelet.Run(ctx(), kubeletsim.PodSpec{Namespace: shop, Name: "db-0", Labels: map[string]string{"app": "db"}})
			Expect(err).NotTo(HaveOccurred())
			Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: checker.Name},
				Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "db", Critical: true}}}})).To(Succeed())
			observe(false, v1alpha1.ReasonNoReadyEndpoints, "0 of 1 endpoints ready")
		})
		timed(shop+": db's Pod ready (serving=true -> Ready)", func() {
			Expect(kubelet.SetReady(ctx(), shop, "db-0", true)).To(Succeed())
			observe(true, v1alpha1.ReasonReady, "1 of 1 endpoints ready (minReady 1)")
		})
		AddReportEntry(shop+"/db (publishNotReadyAddresses): EndpointSlice conditions and verdicts", strings.Join(record, "\n"))
	})

	if windows {
		windowFlow(shop, func() *manager { return mgr })
		// The rolling replacement above left checkout-c and checkout-d.
		graceFlow(shop, func() *manager { return mgr }, func() []string { return []string{"checkout-c", "checkout-d"} })
	}

	It("keeps a deleted Service as not found, and drops a deleted ServiceChecker's entries", func() {
		timed(shop+": delete the Service, then the ServiceChecker", func() {
			Expect(k8sClient.Delete(ctx(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "checkout"}})).
				To(Succeed())
			Eventually(func(g Gomega) {
				e := mgr.checkout(g, shop)
				g.Expect(e.Ready).To(BeFalse())
				g.Expect(e.Reason).To(Equal(v1alpha1.ReasonServiceNotFound))
			}).WithTimeout(10 * time.Second).Should(Succeed())
			Expect(k8sClient.Delete(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "storefront"}})).
				To(Succeed())
			Eventually(func(g Gomega) {
				for _, e := range mgr.services(g) {
					g.Expect(e.Namespace).NotTo(Equal(shop))
				}
			}).WithTimeout(10 * time.Second).Should(Succeed())
		})
		Expect(mgr.errorLines()).To(BeEmpty(), "the manager logged errors")
	})
}

func readyEntry(ns, name string, endpoints int) OmegaMatcher {
	return And(HaveField("Namespace", ns), HaveField("Name", name), HaveField("Ready", true),
		HaveField("ReadyEndpoints", BeEquivalentTo(endpoints)))
}

func createNamespace(name string) {
	Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
}

// service creates a Service selecting app=<name>; dualStack requires an IPv4 and an IPv6 cluster IP.
func service(ns, name string, dualStack bool) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	if dualStack {
		svc.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
		svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	}
	Expect(k8sClient.Create(ctx(), svc)).To(Succeed())
}

func runPods(ns, app string, dualStack bool, names ...string) {
	for _, name := range names {
		_, err := kubelet.Run(ctx(), kubeletsim.PodSpec{Namespace: ns, Name: name, Labels: map[string]string{"app": app},
			DualStack: dualStack, Ready: true})
		Expect(err).NotTo(HaveOccurred())
	}
}

func kubectlWait(ns, condition string) {
	out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "wait", "--for=condition="+condition,
		"servicechecker/storefront", "-n", ns, "--timeout=30s").CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	Expect(string(out)).To(ContainSubstring("condition met"))
}

func mwmctl(args ...string) (string, int) {
	cmd := exec.Command(mwmctlBin, args...)
	cmd.Env = []string{"NO_COLOR=1", "HOME=" + GinkgoT().TempDir()}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	Expect(err).NotTo(HaveOccurred())
	return string(out), 0
}

// startManager runs bin/manager impersonating the installation's ServiceAccount.
func startManager(inst installation) *manager {
	return startManagerAs(inst.namespace, inst.serviceAccount, nil, true)
}

// startManagerAs runs bin/manager impersonating a ServiceAccount, with extra environment variables, its API on a
// free loopback port and a certificate signed by a CA of the suite's own; waitReady waits until the API answers.
//
// With OPERATOR_CONDITION_NAME in env, operator-lib reads the Pod's namespace from the service account's
// namespace file, which exists only in a Pod: the manager then runs in a private mount namespace (unshare, with
// a user namespace) where a tmpfs on /var/run holds that file (and hides the host's /run, which it does not need).
func startManagerAs(namespace, serviceAccount string, env map[string]string, waitReady bool) *manager {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = "system:serviceaccount:" + namespace + ":" + serviceAccount
	}
	id := fmt.Sprintf("%s-%d", namespace, time.Now().UnixNano())
	impersonating := filepath.Join(logDir, "manager-"+id+".kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, impersonating)).To(Succeed())

	certDir, caFile, roots := writeCertificates(id)
	apiAddr := testutil.FreeAddr()
	m := &manager{logs: &testutil.SyncBuffer{}, apiURL: "https://" + apiAddr, caFile: caFile,
		client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
	logFile, err := os.Create(filepath.Join(logDir, "manager-"+id+".log"))
	Expect(err).NotTo(HaveOccurred())
	args := []string{"--kubeconfig", impersonating, "--leader-elect", "--leader-election-namespace", namespace,
		"--api-bind-address", apiAddr, "--api-cert-dir", certDir, "--metrics-bind-address", "0",
		"--health-probe-bind-address", testutil.FreeAddr()}
	if _, olm := env["OPERATOR_CONDITION_NAME"]; olm {
		script := `mount -t tmpfs tmpfs /var/run && mkdir -p /var/run/secrets/kubernetes.io/serviceaccount && ` +
			`echo "$MWM_POD_NAMESPACE" > /var/run/secrets/kubernetes.io/serviceaccount/namespace && exec "$0" "$@"`
		m.cmd = exec.Command("unshare", append([]string{"--user", "--map-root-user", "--mount", "sh", "-c", script, managerBin},
			args...)...)
		m.cmd.Env = append(os.Environ(), "MWM_POD_NAMESPACE="+namespace)
	} else {
		m.cmd = exec.Command(managerBin, args...)
		m.cmd.Env = os.Environ()
	}
	for k, v := range env {
		m.cmd.Env = append(m.cmd.Env, k+"="+v)
	}
	m.cmd.Stdout, m.cmd.Stderr = io.MultiWriter(m.logs, logFile), io.MultiWriter(m.logs, logFile)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives a killed suite
	Expect(m.cmd.Start()).To(Succeed())
	if !waitReady {
		return m
	}
	Eventually(func() error {
		resp, err := m.client.Get(m.apiURL + "/status")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /status: %s", resp.Status)
		}
		return nil
	}).WithTimeout(30*time.Second).Should(Succeed(), "the manager's API never answered; log in %s", logFile.Name())
	return m
}

func (m *manager) stop() {
	if m.cmd.ProcessState != nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
}

func (m *manager) get(g Gomega, path string, into any) {
	resp, err := m.client.Get(m.apiURL + path)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(json.NewDecoder(resp.Body).Decode(into)).To(Succeed())
}

// fetchServices is GET /services without assertions, for a background sampler.
func (m *manager) fetchServices() ([]snapshot.Entry, error) {
	resp, err := m.client.Get(m.apiURL + "/services")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /services: %s", resp.Status)
	}
	var entries []snapshot.Entry
	return entries, json.NewDecoder(resp.Body).Decode(&entries)
}

// services is GET /services, verifying the certificate as curl --cacert would.
func (m *manager) services(g Gomega) []snapshot.Entry {
	var entries []snapshot.Entry
	m.get(g, "/services", &entries)
	return entries
}

func (m *manager) status(g Gomega) map[string]any {
	var status map[string]any
	m.get(g, "/status", &status)
	return status
}

// checkout is the /services entry of the checkout Service in namespace ns.
func (m *manager) checkout(g Gomega, ns string) snapshot.Entry { return m.entry(g, ns, "checkout") }

// entry is the /services entry of the Service ns/name.
func (m *manager) entry(g Gomega, ns, name string) snapshot.Entry {
	for _, e := range m.services(g) {
		if e.Namespace == ns && e.Name == name {
			return e
		}
	}
	g.Expect(ns + "/" + name).To(Equal("listed by /services"))
	return snapshot.Entry{}
}

// expectVerdict waits until the ServiceChecker's status, GET /services and GET /status?checker= all judge the
// Service (critical in that ServiceChecker, in its namespace) ready or not, with the reason (and, in the status,
// the message), and returns what each of them said.
func (m *manager) expectVerdict(checker client.ObjectKey, svc string, ready bool, reason, message string) string {
	var said string
	Eventually(func(g Gomega) {
		sc := &v1alpha1.ServiceChecker{}
		g.Expect(k8sClient.Get(ctx(), checker, sc)).To(Succeed())
		g.Expect(sc.Status.ServiceStatuses).To(HaveLen(1))
		st := sc.Status.ServiceStatuses[0]
		g.Expect(st).To(And(HaveField("Name", svc), HaveField("Ready", ready), HaveField("Reason", reason),
			HaveField("Message", message)))
		e := m.entry(g, checker.Namespace, svc)
		g.Expect(e).To(And(HaveField("Ready", ready), HaveField("Reason", reason),
			HaveField("ReadyEndpoints", st.ReadyEndpoints)))
		var status map[string]any
		m.get(g, "/status?checker="+checker.String(), &status)
		g.Expect(status).To(HaveKeyWithValue("maintenance", !ready))
		said = fmt.Sprintf("  ServiceChecker %s status: ready=%t reason=%s readyEndpoints=%d message=%q\n"+
			"  GET /services: ready=%t reason=%s readyEndpoints=%d\n"+
			"  GET /status?checker=%s: maintenance=%v criticalNotReady=%v",
			checker, st.Ready, st.Reason, st.ReadyEndpoints, st.Message, e.Ready, e.Reason, e.ReadyEndpoints,
			checker, status["maintenance"], status["criticalNotReady"])
	}).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	return said
}

// endpointSlice waits until kube-controller-manager has written the one EndpointSlice of ns/svc with one
// endpoint whose serving condition is serving, and returns it.
func endpointSlice(ns, svc string, serving bool) discoveryv1.EndpointSlice {
	var slice discoveryv1.EndpointSlice
	Eventually(func(g Gomega) {
		slices := &discoveryv1.EndpointSliceList{}
		g.Expect(k8sClient.List(ctx(), slices, client.InNamespace(ns),
			client.MatchingLabels{discoveryv1.LabelServiceName: svc})).To(Succeed())
		g.Expect(slices.Items).To(HaveLen(1))
		g.Expect(slices.Items[0].Endpoints).To(HaveLen(1))
		g.Expect(slices.Items[0].Endpoints[0].Conditions.Serving).To(HaveValue(Equal(serving)))
		slice = slices.Items[0]
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	return slice
}

// describeEndpoint describes the first endpoint of a slice and its conditions as the slice holds them.
func describeEndpoint(slice discoveryv1.EndpointSlice) string {
	ep := slice.Endpoints[0]
	condition := func(c *bool) string {
		if c == nil {
			return "unset"
		}
		return fmt.Sprint(*c)
	}
	pod := "none"
	if ep.TargetRef != nil {
		pod = ep.TargetRef.Kind + " " + ep.TargetRef.Name
	}
	return fmt.Sprintf("%s/%s: EndpointSlice %s (managed by %s), endpoint %v of %s: ready=%s serving=%s terminating=%s",
		slice.Namespace, slice.Labels[discoveryv1.LabelServiceName], slice.Name, slice.Labels[discoveryv1.LabelManagedBy],
		ep.Addresses, pod, condition(ep.Conditions.Ready), condition(ep.Conditions.Serving),
		condition(ep.Conditions.Terminating))
}

// errorLines returns the manager's log lines at error level (it logs JSON).
func (m *manager) errorLines() []string {
	var lines []string
	for _, l := range strings.Split(m.logs.String(), "\n") {
		if strings.Contains(l, `"level":"error"`) {
			lines = append(lines, l)
		}
	}
	return lines
}

// writeCertificates writes a CA and a serving certificate for 127.0.0.1 signed by it, as tls.crt, tls.key and
// ca.crt, the way a Secret is mounted at --api-cert-dir.
func writeCertificates(name string) (dir, caFile string, roots *x509.CertPool) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mwm-e2e-ca-" + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	ca, err := x509.ParseCertificate(caDER)
	Expect(err).NotTo(HaveOccurred())
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mwm-api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	dir = filepath.Join(logDir, "api-tls-"+name)
	Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).
		To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)).
		To(Succeed())
	caFile = filepath.Join(dir, "ca.crt")
	Expect(os.WriteFile(caFile, caPEM, 0o600)).To(Succeed())
	roots = x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return dir, caFile, roots
}
