package install

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/cli"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	systemNamespace = "maintenance-window-manager-system"
	serviceAccount  = "system:serviceaccount:" + systemNamespace + ":maintenance-window-manager-controller-manager"
	managerRole     = "maintenance-window-manager-manager-role"
	leaderRole      = "maintenance-window-manager-leader-election-role"
	leaseName       = "maintenance-window-manager.mamrezb.com"
	metricsAuthRole = "maintenance-window-manager-metrics-auth-role"
	appNamespace    = "shop"
	// grantNamespace holds a Service the ServiceCheckers of appNamespace may read through a ReferenceGrant.
	grantNamespace = "finance"
)

func kubectlRun(args ...string) (string, error) {
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig, "--cache-dir",
		filepath.Join(os.TempDir(), "mwm-kubectl-cache")}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var _ = Describe("dist/install.yaml", Ordered, func() {
	installYAML := filepath.Join(repoRoot, "dist", "install.yaml")

	It("is needed: before it, mwmctl says the CRD is missing (exit 3)", func() {
		var out, errOut bytes.Buffer
		code := cli.Run(ctx(), "mwmctl", []string{"status", "--kubeconfig", kubeconfig},
			cli.IO{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }})
		Expect(code).To(Equal(cli.ExitSource))
		Expect(errOut.String()).To(ContainSubstring("the ServiceChecker CRD (servicecheckers.maintenance.mamrezb.com) " +
			"is not installed in the cluster"))
	})

	It("is accepted by the real API server: server-side dry run, then a real apply", func() {
		// A dry run creates nothing, so the namespaced objects need their namespace to exist already.
		Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}})).To(Succeed())
		out, err := kubectlRun("apply", "--server-side", "--dry-run=server", "-f", installYAML)
		Expect(err).NotTo(HaveOccurred(), out)
		raw, err := os.ReadFile(installYAML)
		Expect(err).NotTo(HaveOccurred())
		objects := strings.Count("\n"+string(raw), "\n---\n") + 1
		Expect(strings.Count(out, "(server dry run)")).To(Equal(objects), out)
		AddReportEntry("server dry run of dist/install.yaml", out)
		GinkgoWriter.Print(out)

		out, err = kubectlRun("apply", "--server-side", "-f", installYAML)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Count(out, "serverside-applied")).To(Equal(objects), out)
	})

	Context("the manager with exactly the install's RBAC", func() {
		var impersonating string
		var certDir string      // tls.crt and tls.key as the Secret of the install mounts them
		var scraperToken string // a Prometheus-like ServiceAccount bound to the install's metrics-reader ClusterRole

		BeforeAll(func() {
			Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNamespace}})).To(Succeed())
			Expect(k8sClient.Create(ctx(), &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "checkout"},
				Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "checkout"}, Ports: []corev1.ServicePort{{Port: 80}}},
			})).To(Succeed())
			Expect(k8sClient.Create(ctx(), &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "checkout-1",
					Labels: map[string]string{discoveryv1.LabelServiceName: "checkout"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
			})).To(Succeed())
			createGrantedService()

			// A kubeconfig that acts as the install's ServiceAccount (the manager cannot run as a Pod here).
			cfg, err := clientcmd.LoadFromFile(kubeconfig)
			Expect(err).NotTo(HaveOccurred())
			for _, auth := range cfg.AuthInfos {
				auth.Impersonate = serviceAccount
			}
			certDir = writeServingCertificate()
			impersonating = filepath.Join(GinkgoT().TempDir(), "manager.kubeconfig")
			Expect(clientcmd.WriteToFile(*cfg, impersonating)).To(Succeed())

			Expect(k8sClient.Create(ctx(), &corev1.ServiceAccount{
				ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "prometheus"}})).To(Succeed())
			Expect(k8sClient.Create(ctx(), &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "maintenance-window-manager-metrics-reader"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: appNamespace, Name: "prometheus"}},
			})).To(Succeed())
			clientset, err := kubernetes.NewForConfig(adminCfg)
			Expect(err).NotTo(HaveOccurred())
			token, err := clientset.CoreV1().ServiceAccounts(appNamespace).CreateToken(ctx(), "prometheus",
				&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}},
				metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			scraperToken = token.Status.Token
		})

		It("reconciles, records Events, takes the leader lease and serves /services", func() {
			Expect(runAndCheck(impersonating, certDir, scraperToken, "full", 60*time.Second)).To(Succeed())
		})

		It("grants exactly the verbs the operator uses", func() {
			var manager rbacv1.ClusterRole
			Expect(k8sClient.Get(ctx(), types.NamespacedName{Name: managerRole}, &manager)).To(Succeed())
			var leader rbacv1.Role
			Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: systemNamespace, Name: leaderRole}, &leader)).To(Succeed())
			granted := map[string][]string{}
			for _, rule := range append(manager.Rules, leader.Rules...) {
				for _, g := range rule.APIGroups {
					for _, r := range rule.Resources {
						granted[g+"/"+r] = append(granted[g+"/"+r], rule.Verbs...)
					}
				}
			}
			for k := range granted {
				slices.Sort(granted[k])
			}
			Expect(granted).To(Equal(map[string][]string{
				"/services":                                      {"get", "list", "watch"},
				"discovery.k8s.io/endpointslices":                {"get", "list", "watch"},
				"maintenance.mamrezb.com/servicecheckers":        {"get", "list", "watch"},
				"maintenance.mamrezb.com/servicecheckers/status": {"get", "update"},
				// Issue #16: the MaintenanceWindow controller reads windows and writes their status.
				"maintenance.mamrezb.com/maintenancewindows":        {"get", "list", "watch"},
				"maintenance.mamrezb.com/maintenancewindows/status": {"get", "update"},
				"events.k8s.io/events":                              {"create", "patch"},
				"gateway.networking.k8s.io/referencegrants":         {"get", "list", "watch"},
				"coordination.k8s.io/leases":                        {"create", "get", "update"},
				"/events":                                           {"create", "patch"},
			}))
		})

		It("grants nothing on secrets or pods, and writes only what the operator must", func() {
			writes := map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true, "*": true}
			allowedWrites := map[string]bool{"servicecheckers/status": true, "maintenancewindows/status": true, "events": true,
				"leases": true}
			var manager rbacv1.ClusterRole
			Expect(k8sClient.Get(ctx(), types.NamespacedName{Name: managerRole}, &manager)).To(Succeed())
			var leader rbacv1.Role
			Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: systemNamespace, Name: leaderRole}, &leader)).To(Succeed())
			for _, rule := range append(manager.Rules, leader.Rules...) {
				for _, resource := range rule.Resources {
					Expect(resource).NotTo(BeElementOf("secrets", "pods", "*"), "rule %v", rule)
					for _, verb := range rule.Verbs {
						if writes[verb] {
							Expect(allowedWrites).To(HaveKey(resource), "rule %v writes %s", rule, resource)
						}
					}
				}
			}
		})

		It("fails when any one rule of its roles is removed", func() {
			results := make([]string, 0, 16)
			for _, key := range []types.NamespacedName{{Name: managerRole}, {Name: metricsAuthRole},
				{Namespace: systemNamespace, Name: leaderRole}} {
				var role client.Object = &rbacv1.ClusterRole{}
				if key.Namespace != "" {
					role = &rbacv1.Role{}
				}
				Expect(k8sClient.Get(ctx(), key, role)).To(Succeed())
				original, err := testutil.RulesOf(role)
				Expect(err).NotTo(HaveOccurred())
				for i := range original {
					without := append(append([]rbacv1.PolicyRule{}, original[:i]...), original[i+1:]...)
					setRules(role, without)
					Expect(k8sClient.Update(ctx(), role)).To(Succeed())
					name := fmt.Sprintf("%s without %v %v", key.Name, original[i].APIGroups, original[i].Resources)
					err := runAndCheck(impersonating, certDir, scraperToken, name, 20*time.Second)
					Expect(err).To(HaveOccurred(), "the manager still did its whole job %s: that rule is not needed", name)
					// The failure must be the one this rule is for, not a slow start.
					Expect(err.Error()).To(MatchRegexp(expectedFailure(original[i])), name)
					results = append(results, fmt.Sprintf("%s -> fails: %v", name, err))
					setRules(role, original)
					Expect(k8sClient.Update(ctx(), role)).To(Succeed())
				}
			}
			report := strings.Join(results, "\n")
			AddReportEntry("rule removal", report)
			GinkgoWriter.Println(report)
		})
	})
})

// expectedFailure matches what the manager cannot do without a rule.
func expectedFailure(rule rbacv1.PolicyRule) string {
	switch {
	case slices.Contains(rule.Resources, "tokenreviews") || slices.Contains(rule.Resources, "subjectaccessreviews"):
		return "GET /metrics"
	case slices.Contains(rule.Resources, "servicecheckers"):
		// Its cache never syncs: the manager neither reconciles nor, as it waits for that cache, leads.
		return "leader lease not taken|ServiceChecker status not written"
	case slices.Contains(rule.Resources, "leases"):
		return "leader lease not taken"
	case slices.Contains(rule.APIGroups, "") && slices.Contains(rule.Resources, "events"):
		return "no LeaderElection Event"
	case slices.Contains(rule.Resources, "events"):
		return "no ServiceNotReady Event"
	default:
		// Services, EndpointSlices, ServiceCheckers, their status: no verdict is written. ReferenceGrants too: the
		// manager runs with --no-cross-namespace-refs and the CRD installed, so it watches them, and a watch it may not
		// list never syncs, which holds back the whole controller (and without the watch the grant would go unseen).
		return "ServiceChecker status not written"
	}
}

func setRules(o client.Object, rules []rbacv1.PolicyRule) {
	if r, ok := o.(*rbacv1.Role); ok {
		r.Rules = rules
		return
	}
	o.(*rbacv1.ClusterRole).Rules = rules
}

func ctx() context.Context { return context.Background() }

// runAndCheck starts bin/manager as the ServiceAccount with a fresh ServiceChecker, Lease and Events, and returns
// nil once it has done its whole job, or the first unmet expectation after timeout.
func runAndCheck(kubeconfigPath, certDir, scraperToken, name string, timeout time.Duration) error {
	// Fresh loopback addresses for each manager run.
	apiAddr, metricsAddr, probeAddr := testutil.FreeAddr(), testutil.FreeAddr(), testutil.FreeAddr()
	checker := fmt.Sprintf("run-%d", time.Now().UnixNano())
	Expect(client.IgnoreNotFound(k8sClient.Delete(ctx(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: leaseName}}))).To(Succeed())
	Expect(k8sClient.DeleteAllOf(ctx(), &corev1.Event{}, client.InNamespace(systemNamespace))).To(Succeed())
	Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: checker},
		Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
			{Name: "checkout", Critical: true}, {Name: "missing"}, {Name: "ledger", Namespace: grantNamespace}}},
	})).To(Succeed())

	var logs bytes.Buffer
	// With --no-cross-namespace-refs the job includes reading finance/ledger through its ReferenceGrant.
	cmd := exec.Command(manager, "--kubeconfig", kubeconfigPath, "--leader-elect", "--no-cross-namespace-refs",
		"--leader-election-namespace", systemNamespace, "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", probeAddr, "--api-bind-address", apiAddr, "--api-cert-dir", certDir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	Expect(cmd.Start()).To(Succeed())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second): // a manager stuck waiting for a cache it may not read
			_ = cmd.Process.Kill()
			<-done
		}
	}()

	deadline := time.Now().Add(timeout)
	for {
		err := jobDone(checker, apiAddr, metricsAddr, probeAddr, scraperToken)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			GinkgoWriter.Printf("manager log (%s):\n%s\n", name, logs.String())
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// apiClient verifies the API against the CA of the certificate in certDir (set by writeServingCertificate).
var apiClient *http.Client

// writeServingCertificate writes a self-signed certificate for 127.0.0.1 as tls.crt and tls.key, the way the
// install's Secret is mounted at --api-cert-dir, and makes apiClient trust it.
func writeServingCertificate() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mwm-api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	apiClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return dir
}

var insecureClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the metrics endpoint's self-signed certificate

// jobDone checks everything the manager must do for one fresh ServiceChecker.
func jobDone(checker, apiAddr, metricsAddr, probeAddr, scraperToken string) error {
	var lease coordinationv1.Lease
	if err := k8sClient.Get(ctx(), types.NamespacedName{Namespace: systemNamespace, Name: leaseName}, &lease); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("leader lease not taken")
		}
		return err
	}
	var core corev1.EventList
	if err := k8sClient.List(ctx(), &core, client.InNamespace(systemNamespace)); err != nil {
		return err
	}
	elected := false
	for _, e := range core.Items {
		elected = elected || e.Reason == "LeaderElection"
	}
	if !elected {
		return fmt.Errorf("no LeaderElection Event for the lease")
	}
	var sc v1alpha1.ServiceChecker
	if err := k8sClient.Get(ctx(), types.NamespacedName{Namespace: appNamespace, Name: checker}, &sc); err != nil {
		return err
	}
	if sc.Status.ObservedGeneration != sc.Generation || len(sc.Status.ServiceStatuses) != 3 || !sc.Status.ServiceStatuses[0].Ready {
		return fmt.Errorf("ServiceChecker status not written")
	}
	if granted := sc.Status.ServiceStatuses[2]; !granted.Ready {
		return fmt.Errorf("%s/%s not ready despite its ReferenceGrant: %s: %s", granted.Namespace, granted.Name,
			granted.Reason, granted.Message)
	}
	var events eventsv1.EventList
	if err := k8sClient.List(ctx(), &events, client.InNamespace(appNamespace)); err != nil {
		return err
	}
	recorded := false
	for _, e := range events.Items {
		recorded = recorded || (e.Regarding.Name == checker && e.Reason == "ServiceNotReady")
	}
	if !recorded {
		return fmt.Errorf("no ServiceNotReady Event on the ServiceChecker")
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		r, err := http.Get("http://" + probeAddr + probe)
		if err != nil {
			return fmt.Errorf("probe %s: %w", probe, err)
		}
		_ = r.Body.Close()
		if r.StatusCode != http.StatusOK {
			return fmt.Errorf("probe %s answered %d", probe, r.StatusCode)
		}
	}
	resp, err := apiClient.Get("https://" + apiAddr + "/services?checker=" + appNamespace + "/" + checker)
	if err != nil {
		return fmt.Errorf("GET /services: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var entries []map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&entries) != nil || len(entries) != 3 {
		return fmt.Errorf("GET /services answered %d without the ServiceChecker's 3 Services", resp.StatusCode)
	}

	// The secured metrics endpoint checks the scraper's token (TokenReview) and permission (SubjectAccessReview).
	req, _ := http.NewRequest(http.MethodGet, "https://"+metricsAddr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+scraperToken)
	metrics, err := insecureClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET /metrics: %w", err)
	}
	defer func() { _ = metrics.Body.Close() }()
	body, _ := io.ReadAll(metrics.Body)
	if metrics.StatusCode != http.StatusOK || !strings.Contains(string(body), "mwm_service_ready{") {
		return fmt.Errorf("GET /metrics with the metrics-reader's token answered %d without mwm_service_ready", metrics.StatusCode)
	}
	return nil
}

// createGrantedService installs Gateway API's ReferenceGrant CRD (from the module the manager's types come from),
// and creates the Service finance/ledger with a ready endpoint and a ReferenceGrant that lets the ServiceCheckers of
// appNamespace read it.
func createGrantedService() {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	Expect(err).NotTo(HaveOccurred(), "locate the sigs.k8s.io/gateway-api module (go list -m)")
	out, err := kubectlRun("apply", "--server-side", "-f", filepath.Join(strings.TrimSpace(string(dir)),
		"config", "crd", "standard", "gateway.networking.k8s.io_referencegrants.yaml"))
	Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectlRun("wait", "--for=condition=Established", "--timeout=30s",
		"crd/referencegrants.gateway.networking.k8s.io")
	Expect(err).NotTo(HaveOccurred(), out)

	Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: grantNamespace}})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: grantNamespace, Name: "ledger"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "ledger"}, Ports: []corev1.ServicePort{{Port: 80}}},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: grantNamespace, Name: "ledger-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "ledger"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.1.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	})).To(Succeed())
	grant := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1beta1",
		"kind":       "ReferenceGrant",
		"metadata":   map[string]any{"namespace": grantNamespace, "name": "shop-may-check-ledger"},
		"spec": map[string]any{
			"from": []any{map[string]any{"group": "maintenance.mamrezb.com", "kind": "ServiceChecker", "namespace": appNamespace}},
			"to":   []any{map[string]any{"group": "", "kind": "Service", "name": "ledger"}},
		},
	}}
	Eventually(func() error { return k8sClient.Create(ctx(), grant) }).WithTimeout(10 * time.Second).Should(Succeed())
}
