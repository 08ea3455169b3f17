package helm

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

func ctx() context.Context { return context.Background() }

// releaseObjects returns the objects of the release's current manifest, as Helm recorded it.
func releaseObjects() []*unstructured.Unstructured {
	out, err := helm("get", "manifest", release, "--namespace", namespace)
	Expect(err).NotTo(HaveOccurred(), out)
	objs, err := testutil.DecodeYAML([]byte(out))
	Expect(err).NotTo(HaveOccurred(), out)
	return objs
}

// expectAllExist fails unless every object exists in the API server, and returns "Kind name" of each.
func expectAllExist(objs []*unstructured.Unstructured) []string {
	Expect(objs).NotTo(BeEmpty())
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		key := client.ObjectKey{Name: o.GetName(), Namespace: o.GetNamespace()}
		Expect(k8sClient.Get(ctx(), key, live)).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
		Expect(live.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"), "%s %s", o.GetKind(), o.GetName())
		names = append(names, o.GetKind()+" "+o.GetName())
	}
	slices.Sort(names)
	return names
}

// tlsSecret returns a Secret of the release: the TLS one (ca.crt, tls.crt, tls.key) or the CA one (ca.crt, ca.key).
func tlsSecret(name string) *corev1.Secret {
	secret := &corev1.Secret{}
	Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: namespace, Name: name}, secret)).To(Succeed())
	Expect(secret.Data).To(HaveKey("ca.crt"))
	if strings.HasSuffix(name, "-api-ca") {
		Expect(secret.Data).To(HaveKey("ca.key"))
	} else {
		Expect(secret.Data).To(HaveKey("tls.crt"))
		Expect(secret.Data).To(HaveKey("tls.key"))
	}
	return secret
}

func parseCertificate(pemBytes []byte) *x509.Certificate {
	block, _ := pem.Decode(pemBytes)
	Expect(block).NotTo(BeNil())
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}

var _ = Describe("A release on a real kube-apiserver", Ordered, func() {
	secretName := release + "-api-tls"
	var secretBefore map[string][]byte

	It("is installed with every object of the chart", func() {
		out, err := helm("install", release, chartDir, "--namespace", namespace, "--create-namespace")
		Expect(err).NotTo(HaveOccurred(), out)
		created := expectAllExist(releaseObjects())
		GinkgoWriter.Printf("helm install created %d objects:\n  %s\n", len(created), strings.Join(created, "\n  "))
		Expect(created).To(ContainElements("Deployment "+release+"-controller-manager", "Secret "+secretName,
			"ClusterRole "+release+"-manager-role", "PodDisruptionBudget "+release+"-controller-manager"))
		crd := &unstructured.Unstructured{}
		crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
		for _, name := range []string{"servicecheckers.maintenance.mamrezb.com", "maintenancewindows.maintenance.mamrezb.com"} {
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Name: name}, crd)).To(Succeed(), "the chart's crds/ install %s", name)
		}
		secretBefore = tlsSecret(secretName).Data
	})

	It("is upgraded to every option, keeping its CA and re-signing the certificate for the new DNS name", func() {
		applyThirdPartyCRDs() // for the ServiceMonitor and the HTTPRoute
		caBefore := tlsSecret(release + "-api-ca").Data["ca.crt"]
		out, err := helm("upgrade", release, chartDir, "--namespace", namespace, "-f", ciValues("all-options-values.yaml"))
		Expect(err).NotTo(HaveOccurred(), out)
		objs := releaseObjects()
		upgraded := expectAllExist(objs)
		GinkgoWriter.Printf("helm upgrade (all options) holds %d objects:\n  %s\n", len(upgraded), strings.Join(upgraded, "\n  "))
		Expect(kindsOf(objs)).To(ContainElements("Ingress", "HTTPRoute", "ServiceMonitor", "NetworkPolicy"))

		after := tlsSecret(secretName).Data
		Expect(after["ca.crt"]).To(Equal(secretBefore["ca.crt"]), "the upgrade replaced the CA clients trust")
		Expect(tlsSecret(release + "-api-ca").Data["ca.crt"]).To(Equal(caBefore))
		Expect(after["tls.crt"]).NotTo(Equal(secretBefore["tls.crt"]), "tls.extraDNSNames added a name to sign for")
		leaf := parseCertificate(after["tls.crt"])
		Expect(leaf.DNSNames).To(ContainElement("mwm.example.com"))
		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(after["ca.crt"])).To(BeTrue())
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "mwm.example.com"})
		Expect(err).NotTo(HaveOccurred())
	})

	It("keeps the TLS Secret byte for byte across an upgrade that does not change its names", func() {
		before := tlsSecret(secretName).Data
		out, err := helm("upgrade", release, chartDir, "--namespace", namespace, "--reuse-values", "--set", "replicas=2")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(tlsSecret(secretName).Data).To(Equal(before))
	})

	It("runs bin/manager with the chart's ServiceAccount, flags and certificate, verified by mwmctl", func() {
		deployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: namespace, Name: release + "-controller-manager"}, deployment)).
			To(Succeed())
		pod := deployment.Spec.Template.Spec
		Expect(pod.Containers).To(HaveLen(1))

		// The Secret's files, as the Pod mounts them at --api-cert-dir.
		certDir := GinkgoT().TempDir()
		Expect(pod.Volumes).To(ContainElement(HaveField("Secret.SecretName", secretName)))
		for file, data := range tlsSecret(secretName).Data {
			Expect(os.WriteFile(filepath.Join(certDir, file), data, 0o600)).To(Succeed())
		}
		// A kubeconfig acting as the chart's ServiceAccount (the manager cannot run as a Pod here).
		cfg, err := clientcmd.LoadFromFile(kubeconfig)
		Expect(err).NotTo(HaveOccurred())
		for _, auth := range cfg.AuthInfos {
			auth.Impersonate = "system:serviceaccount:" + namespace + ":" + pod.ServiceAccountName
		}
		impersonating := filepath.Join(GinkgoT().TempDir(), "manager.kubeconfig")
		Expect(clientcmd.WriteToFile(*cfg, impersonating)).To(Succeed())

		// The chart's flags, with loopback ports (the Pod's own ports may be taken on this machine).
		apiAddr := testutil.FreeAddr()
		args := make([]string, 0, 4+len(pod.Containers[0].Args))
		args = append(args, "--kubeconfig", impersonating, "--leader-election-namespace", namespace)
		for _, arg := range pod.Containers[0].Args {
			switch {
			case strings.HasPrefix(arg, "--api-bind-address="):
				arg = "--api-bind-address=" + apiAddr
			case strings.HasPrefix(arg, "--metrics-bind-address="):
				arg = "--metrics-bind-address=" + testutil.FreeAddr()
			case strings.HasPrefix(arg, "--health-probe-bind-address="):
				arg = "--health-probe-bind-address=" + testutil.FreeAddr()
			case strings.HasPrefix(arg, "--api-cert-dir="):
				arg = "--api-cert-dir=" + certDir
			}
			args = append(args, arg)
		}
		Expect(args).To(ContainElements("--leader-elect", "--zap-log-level=debug",
			"--api-cors-allowed-origins=https://shop.example.com,https://admin.example.com", "--no-cross-namespace-refs",
			"--leader-election-lease-duration=20s", "--leader-election-renew-deadline=12s",
			"--leader-election-retry-period=3s", "--stale-after=45s"))
		Expect(pod.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(45)))

		createApp("shop")
		// crossNamespaceRefs.allow=false without the ReferenceGrant CRD (not installed here): another namespace's
		// Service is denied, and the message says the CRD is missing.
		Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "audit"},
			Spec:       v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "kubernetes", Namespace: "default"}}},
		})).To(Succeed())
		var logs bytes.Buffer
		manager := exec.Command(managerBin, args...)
		manager.Stdout, manager.Stderr = &logs, &logs
		Expect(manager.Start()).To(Succeed())
		DeferCleanup(func() {
			_ = manager.Process.Signal(syscall.SIGTERM)
			_, _ = manager.Process.Wait()
			GinkgoWriter.Printf("manager log:\n%s\n", logs.String())
		})

		serverName := release + "-api." + namespace + ".svc"
		mwmctl := func(extra ...string) (string, error) {
			cmd := exec.Command(mwmctlBin, append([]string{"status", "--api-url", "https://" + apiAddr,
				"--api-ca-file", filepath.Join(certDir, "ca.crt"), "--api-timeout", "2s"}, extra...)...)
			cmd.Env = []string{"NO_COLOR=1", "HOME=" + GinkgoT().TempDir()}
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		Eventually(func(g Gomega) {
			out, err := mwmctl("--api-tls-server-name", serverName)
			g.Expect(err).NotTo(HaveOccurred(), out)
			g.Expect(out).To(MatchRegexp(`shop\s+checkout\s+yes\s+yes\s+1`))
		}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("mwmctl status --api-tls-server-name %s:\n", serverName)
		out, _ := mwmctl("--api-tls-server-name", serverName)
		GinkgoWriter.Println(out)

		// The certificate is for the Service's names: verification by IP fails, so the check above was real.
		out, err = mwmctl()
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("certificate"))

		checker := &v1alpha1.ServiceChecker{}
		Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: "shop", Name: "storefront"}, checker)).To(Succeed())
		Expect(checker.Status.ServiceStatuses).To(ConsistOf(HaveField("Ready", true)))

		Eventually(func(g Gomega) {
			audit := &v1alpha1.ServiceChecker{}
			g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: "shop", Name: "audit"}, audit)).To(Succeed())
			g.Expect(audit.Status.ServiceStatuses).To(ConsistOf(And(
				HaveField("Ready", false), HaveField("ReadyEndpoints", BeZero()),
				HaveField("Reason", v1alpha1.ReasonCrossNamespaceReferenceDenied),
				HaveField("Message", ContainSubstring("ReferenceGrant CRD is not installed")))))
		}).WithTimeout(10 * time.Second).Should(Succeed())
		// Stopped here (cmd.Wait returns once the log is copied) to read the log it wrote once at start. As in a
		// terminating Pod: the leader releases its Lease and the process exits within the chart's grace period.
		lease := &coordinationv1.Lease{}
		leaseKey := client.ObjectKey{Namespace: namespace, Name: "maintenance-window-manager.mamrezb.com"}
		Expect(k8sClient.Get(ctx(), leaseKey, lease)).To(Succeed())
		Expect(lease.Spec.HolderIdentity).To(HaveValue(Not(BeEmpty())), "the manager reconciled, so it leads")
		stopping := time.Now()
		Expect(manager.Process.Signal(syscall.SIGTERM)).To(Succeed())
		_ = manager.Wait()
		stopped := time.Since(stopping)
		GinkgoWriter.Printf("the manager exited %s after SIGTERM\n", stopped)
		Expect(stopped).To(BeNumerically("<", time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second))
		Expect(k8sClient.Get(ctx(), leaseKey, lease)).To(Succeed())
		Expect(lease.Spec.HolderIdentity).To(Or(BeNil(), HaveValue(BeEmpty())), "SIGTERM releases the Lease")
		Expect(logs.String()).To(ContainSubstring("ReferenceGrant CRD not installed"))
	})

	It("is uninstalled without leaving a namespaced object of its own behind", func() {
		objs := releaseObjects()
		out, err := helm("uninstall", release, "--namespace", namespace, "--wait")
		Expect(err).NotTo(HaveOccurred(), out)
		for _, o := range objs {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			err := k8sClient.Get(ctx(), client.ObjectKey{Name: o.GetName(), Namespace: o.GetNamespace()}, live)
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s %s is left: %v", o.GetKind(), o.GetName(), err)
		}
		left := namespacedObjects(namespace)
		GinkgoWriter.Printf("left in %s after helm uninstall: %v\n", namespace, left)
		// The manager's own leader Lease and Events are not Helm's; deleting the namespace removes them.
		Expect(left).To(HaveEach(Or(HavePrefix("Event "), Equal("Lease maintenance-window-manager.mamrezb.com"))))
	})
})

var _ = It("installs cert-manager's Issuer and Certificate with tls.mode=certManager", func() {
	applyThirdPartyCRDs()
	const name, ns = "mwm-cm", "cert-manager-mode"
	out, err := helm("install", name, chartDir, "--namespace", ns, "--create-namespace", "-f", ciValues("cert-manager-values.yaml"))
	Expect(err).NotTo(HaveOccurred(), out)
	out, err = helm("get", "manifest", name, "--namespace", ns)
	Expect(err).NotTo(HaveOccurred(), out)
	objs, err := testutil.DecodeYAML([]byte(out))
	Expect(err).NotTo(HaveOccurred(), out)
	Expect(expectAllExist(objs)).To(ContainElements("Issuer mwm-cm-maintenance-window-manager-selfsigned-issuer",
		"Certificate mwm-cm-maintenance-window-manager-api-ca", "Issuer mwm-cm-maintenance-window-manager-ca-issuer",
		"Certificate mwm-cm-maintenance-window-manager-api-cert"))
	// No cert-manager runs here to issue it: the Deployment mounts the Secret the Certificate names.
	certificate := find(objs, "Certificate", "mwm-cm-maintenance-window-manager-api-cert")
	deployment := find(objs, "Deployment", "mwm-cm-maintenance-window-manager-controller-manager")
	volumes, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "volumes")
	Expect(volumes).To(ContainElement(HaveKeyWithValue("secret",
		HaveKeyWithValue("secretName", certificate.Object["spec"].(map[string]any)["secretName"]))))
	out, err = helm("uninstall", name, "--namespace", ns, "--wait")
	Expect(err).NotTo(HaveOccurred(), out)
})

// applyThirdPartyCRDs applies stand-ins for the CRDs of ServiceMonitor, HTTPRoute, Certificate and Issuer, and waits
// until the API server serves them.
func applyThirdPartyCRDs() {
	out, err := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), "--kubeconfig", kubeconfig,
		"apply", "-f", filepath.Join("testdata", "third-party-crds.yaml")).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	for _, gk := range []schema.GroupKind{{Group: "monitoring.coreos.com", Kind: "ServiceMonitor"},
		{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}, {Group: "cert-manager.io", Kind: "Certificate"},
		{Group: "cert-manager.io", Kind: "Issuer"}} {
		Eventually(func() error {
			_, err := k8sClient.RESTMapper().RESTMapping(gk)
			return err
		}).WithTimeout(10*time.Second).Should(Succeed(), gk.String())
	}
}

// namespacedObjects lists every object of every listable namespaced kind in the namespace, as "Kind name".
func namespacedObjects(ns string) []string {
	disco, err := discovery.NewDiscoveryClientForConfig(adminCfg)
	Expect(err).NotTo(HaveOccurred())
	lists, err := disco.ServerPreferredNamespacedResources()
	Expect(err).NotTo(HaveOccurred())
	var found []string
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		Expect(err).NotTo(HaveOccurred())
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") {
				continue
			}
			items := &unstructured.UnstructuredList{}
			items.SetGroupVersionKind(gv.WithKind(r.Kind + "List"))
			Expect(k8sClient.List(ctx(), items, client.InNamespace(ns))).To(Succeed(), r.Name)
			for _, item := range items.Items {
				found = append(found, r.Kind+" "+item.GetName())
			}
		}
	}
	return found
}

// createApp creates a Service with one ready endpoint and a ServiceChecker marking it critical.
func createApp(ns string) {
	Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "checkout"}, Ports: []corev1.ServicePort{{Port: 80}}},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checkout-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: "checkout"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	})).To(Succeed())
	Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "storefront"},
		Spec:       v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "checkout", Critical: true}}},
	})).To(Succeed())
}
