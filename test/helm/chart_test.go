package helm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	release   = "maintenance-window-manager"
	namespace = "maintenance-window-manager-system"
)

// helm runs the helm binary against the test cluster, with its configuration and cache in a temporary directory.
func helm(args ...string) (string, error) {
	home := GinkgoT().TempDir()
	cmd := exec.Command(helmBin, append(args, "--kubeconfig", kubeconfig)...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func ciValues(name string) string { return filepath.Join(chartDir, "ci", name) }

// render runs helm template for the release and returns the rendered objects.
func render(args ...string) []*unstructured.Unstructured {
	out, err := helm(append([]string{"template", release, chartDir, "--namespace", namespace}, args...)...)
	Expect(err).NotTo(HaveOccurred(), out)
	objs, err := testutil.DecodeYAML([]byte(out))
	Expect(err).NotTo(HaveOccurred(), out)
	return objs
}

func kindsOf(objs []*unstructured.Unstructured) []string {
	kinds := make([]string, 0, len(objs))
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	return kinds
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	Fail(kind + " " + name + " not rendered")
	return nil
}

var _ = Describe("The chart", func() {
	It("passes helm lint --strict with the default values and with every values file in ci/", func() {
		out, err := helm("lint", "--strict", chartDir)
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("1 chart(s) linted, 0 chart(s) failed"))
		files, err := filepath.Glob(ciValues("*-values.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(ContainElement(ciValues("all-options-values.yaml")))
		for _, f := range files {
			out, err := helm("lint", "--strict", chartDir, "-f", f)
			Expect(err).NotTo(HaveOccurred(), "%s: %s", f, out)
		}
	})

	It("renders the default install: one Deployment of 2 replicas, a PodDisruptionBudget, a self-signed TLS Secret", func() {
		objs := render()
		// ClusterRoles: the manager's, metrics auth and reader, editor and viewer of ServiceCheckers and of
		// MaintenanceWindows.
		Expect(kindsOf(objs)).To(ConsistOf("ServiceAccount", "Secret", "Secret", "ClusterRole", "ClusterRole", "ClusterRole",
			"ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "Role", "RoleBinding",
			"Service", "Service", "Deployment", "PodDisruptionBudget"))
		deployment := find(objs, "Deployment", release+"-controller-manager")
		Expect(deployment.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("replicas", BeNumerically("==", 2))))
		Expect(terminationGracePeriod(objs)).To(BeNumerically("==", 30),
			"room for the Lease release and the API's drain of its streams (at most 10 s)")
		Expect(managerArgs(objs)).To(ContainElements("--leader-elect", "--leader-election-lease-duration=15s",
			"--leader-election-renew-deadline=10s", "--leader-election-retry-period=2s", "--stale-after=30s",
			"--api-status-page=true"))
		secret := find(objs, "Secret", release+"-api-tls")
		Expect(secret.Object["data"]).To(HaveKey("ca.crt"))
		find(objs, "Service", release+"-api")
	})

	It("renders every option with ci/all-options-values.yaml", func() {
		objs := render("-f", ciValues("all-options-values.yaml"))
		Expect(kindsOf(objs)).To(ContainElements("Ingress", "HTTPRoute", "ServiceMonitor", "NetworkPolicy",
			"PodDisruptionBudget", "Secret"))
		Expect(find(objs, "ServiceAccount", "mwm-operator")).NotTo(BeNil())
		Expect(managerArgs(objs)).To(ContainElements("--leader-election-lease-duration=20s",
			"--leader-election-renew-deadline=12s", "--leader-election-retry-period=3s", "--stale-after=45s",
			"--api-status-page=false", "--api-path-prefix=/mwm"))
		Expect(terminationGracePeriod(objs)).To(BeNumerically("==", 45))
	})

	It("compares the leader election timings whatever units they are written in", func() {
		args := managerArgs(render("--set", "leaderElection.leaseDuration=1m30s", "--set", "leaderElection.renewDeadline=89.5s",
			"--set", "leaderElection.retryPeriod=500ms"))
		Expect(args).To(ContainElements("--leader-election-lease-duration=1m30s", "--leader-election-renew-deadline=89.5s",
			"--leader-election-retry-period=500ms"))
	})

	It("passes no leader election timings without leader election", func() {
		args := managerArgs(render("--set", "leaderElection.enabled=false", "--set", "replicas=1"))
		Expect(args).NotTo(ContainElement(HavePrefix("--leader-elect")))
		Expect(args).To(ContainElement("--stale-after=30s"))
	})

	It("renders each TLS mode", func() {
		Expect(kindsOf(render("-f", ciValues("cert-manager-values.yaml")))).To(
			And(ContainElements("Issuer", "Issuer", "Certificate", "Certificate"), Not(ContainElement("Secret"))))
		Expect(kindsOf(render("-f", ciValues("cert-manager-issuer-values.yaml")))).To(
			And(ContainElement("Certificate"), Not(ContainElements("Issuer")), Not(ContainElement("Secret"))))
		existing := render("-f", ciValues("existing-secret-values.yaml"))
		Expect(kindsOf(existing)).NotTo(ContainElements("Secret", "Certificate"))
		volumes, _, _ := unstructured.NestedSlice(find(existing, "Deployment", release+"-controller-manager").Object,
			"spec", "template", "spec", "volumes")
		Expect(volumes).To(ContainElement(HaveKeyWithValue("secret", HaveKeyWithValue("secretName", "my-api-tls"))))
	})

	It("sends no CORS headers by default, and passes --no-cross-namespace-refs only with crossNamespaceRefs.allow=false", func() {
		args := managerArgs(render())
		Expect(args).NotTo(ContainElement(HavePrefix("--api-cors-allowed-origins")),
			"an empty api.corsAllowedOrigins must render no flag, so the manager sends no CORS headers")
		Expect(args).NotTo(ContainElement("--no-cross-namespace-refs"))
		Expect(args).NotTo(ContainElement(HavePrefix("--api-path-prefix")), "no prefix unless api.pathPrefix is set")
		args = managerArgs(render("--set", "crossNamespaceRefs.allow=false", "--set", "api.corsAllowedOrigins={*}"))
		Expect(args).To(ContainElements("--no-cross-namespace-refs", "--api-cors-allowed-origins=*"))
	})

	It("strips an HTTPRoute's path prefix and passes it as X-Forwarded-Prefix; none at /", func() {
		routeAt := func(path string) *unstructured.Unstructured {
			return find(render("--set", "httpRoute.enabled=true", "--set", "httpRoute.parentRefs[0].name=gw",
				"--set", "httpRoute.path="+path), "HTTPRoute", release+"-api")
		}
		route := routeAt("/")
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		Expect(rules).To(HaveLen(1))
		Expect(rules[0]).NotTo(HaveKey("filters"), "at / there is nothing to strip")

		route = routeAt("/mwm/")
		rules, _, _ = unstructured.NestedSlice(route.Object, "spec", "rules")
		filters, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "filters")
		Expect(filters).To(ConsistOf(
			HaveKeyWithValue("urlRewrite", HaveKeyWithValue("path", And(HaveKeyWithValue("type", "ReplacePrefixMatch"),
				HaveKeyWithValue("replacePrefixMatch", "/")))),
			HaveKeyWithValue("requestHeaderModifier", HaveKeyWithValue("set", ConsistOf(
				And(HaveKeyWithValue("name", "X-Forwarded-Prefix"), HaveKeyWithValue("value", "/mwm"))))),
		))
	})

	It("creates no PodDisruptionBudget for a single replica", func() {
		Expect(kindsOf(render("--set", "replicas=1"))).NotTo(ContainElement("PodDisruptionBudget"))
	})

	DescribeTable("rejects wrong values through values.schema.json",
		func(set, message string) {
			out, err := helm("template", release, chartDir, "--set", set)
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring("values don't meet the specifications of the schema"))
			Expect(out).To(ContainSubstring(message))
		},
		Entry("a string where a number goes", "replicas=two", "replicas"),
		Entry("an unknown key", "replica=3", "replica"),
		Entry("an unknown nested key", "tls.selfsigned.validityDays=30", "selfsigned"),
		Entry("a TLS mode that does not exist", "tls.mode=vault", "/tls/mode"),
		Entry("a duration Go cannot parse", "api.sseHeartbeat=soon", "/api/sseHeartbeat"),
		Entry("a lease duration Go cannot parse", "leaderElection.leaseDuration=15 seconds", "/leaderElection/leaseDuration"),
		Entry("a renew deadline without a unit", "leaderElection.renewDeadline=10", "/leaderElection/renewDeadline"),
		Entry("a retry period Go cannot parse", "leaderElection.retryPeriod=2x", "/leaderElection/retryPeriod"),
		Entry("a staleness bound Go cannot parse", "api.staleAfter=half a minute", "/api/staleAfter"),
		Entry("a negative grace period", "terminationGracePeriodSeconds=-1", "terminationGracePeriodSeconds"),
		Entry("zero replicas", "replicas=0", "replicas"),
		Entry("a misspelt resources key", "resources.limit.cpu=1", "'limit' not allowed"),
		Entry("a string where a boolean goes", "crossNamespaceRefs.allow=maybe", "crossNamespaceRefs"),
		Entry("a status page that is neither on nor off", "api.statusPage=maybe", "/api/statusPage"),
	)

	DescribeTable("refuses combinations that cannot work",
		func(set, message string) {
			out, err := helm("template", release, chartDir, "--set", set)
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring(message))
		},
		Entry("two reconcilers", "leaderElection.enabled=false", "leaderElection.enabled=false needs replicas: 1"),
		Entry("metrics on the API port", "metrics.port=8443", "metrics.port must differ"),
		Entry("a renew deadline as long as the lease", "leaderElection.renewDeadline=15s",
			"leaderElection.renewDeadline (15s) must be shorter than leaderElection.leaseDuration (15s)"),
		Entry("a renew deadline longer than the lease, in other units", "leaderElection.renewDeadline=1m",
			"leaderElection.renewDeadline (1m) must be shorter than leaderElection.leaseDuration (15s)"),
		Entry("a renew deadline within the retry period's jitter", "leaderElection.retryPeriod=9s",
			"must be longer than 1.2 x leaderElection.retryPeriod (9s)"),
		Entry("a zero retry period", "leaderElection.retryPeriod=0s", "leaderElection.retryPeriod must be positive"),
		Entry("a zero staleness bound", "api.staleAfter=0s", "api.staleAfter must be positive"),
	)

	It("asks for the Secret's name when tls.mode is existingSecret", func() {
		out, err := helm("template", release, chartDir, "--set", "tls.mode=existingSecret")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("tls.existingSecret.name is required when tls.mode is existingSecret"))
	})

	It("grants exactly the RBAC of config/rbac, which the +kubebuilder:rbac markers generate", func() {
		objs := render()
		for _, role := range []struct{ kind, name, file string }{
			{"ClusterRole", "-manager-role", "role.yaml"},
			{"Role", "-leader-election-role", "leader_election_role.yaml"},
			{"ClusterRole", "-metrics-auth-role", "metrics_auth_role.yaml"},
			{"ClusterRole", "-metrics-reader", "metrics_reader_role.yaml"},
			{"ClusterRole", "-servicechecker-editor-role", "servicechecker_editor_role.yaml"},
			{"ClusterRole", "-servicechecker-viewer-role", "servicechecker_viewer_role.yaml"},
			{"ClusterRole", "-maintenancewindow-editor-role", "maintenancewindow_editor_role.yaml"},
			{"ClusterRole", "-maintenancewindow-viewer-role", "maintenancewindow_viewer_role.yaml"},
		} {
			want, err := testutil.RulesOfFile(filepath.Join(repoRoot, "config", "rbac", role.file))
			Expect(err).NotTo(HaveOccurred())
			Expect(testutil.RulesOf(find(objs, role.kind, release+role.name))).To(Equal(want), role.kind+" "+release+role.name)
		}
	})

	It("ships the CRDs of config/crd/bases byte for byte", func() {
		generated, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(generated).NotTo(BeEmpty())
		shipped, err := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(shipped).To(HaveLen(len(generated)))
		for _, path := range generated {
			want, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			got, err := os.ReadFile(filepath.Join(chartDir, "crds", filepath.Base(path)))
			Expect(err).NotTo(HaveOccurred(), "the chart lacks %s: run `make manifests`", filepath.Base(path))
			Expect(string(got)).To(Equal(string(want)), filepath.Base(path))
		}
	})
})

// managerArgs returns the arguments of the manager container of the rendered Deployment.
func managerArgs(objs []*unstructured.Unstructured) []any {
	containers, _, err := unstructured.NestedSlice(find(objs, "Deployment", release+"-controller-manager").Object,
		"spec", "template", "spec", "containers")
	Expect(err).NotTo(HaveOccurred())
	Expect(containers).To(HaveLen(1))
	return containers[0].(map[string]any)["args"].([]any)
}

// terminationGracePeriod returns the rendered Deployment's terminationGracePeriodSeconds (a number of the decoder's type).
func terminationGracePeriod(objs []*unstructured.Unstructured) any {
	seconds, found, err := unstructured.NestedFieldNoCopy(find(objs, "Deployment", release+"-controller-manager").Object,
		"spec", "template", "spec", "terminationGracePeriodSeconds")
	Expect(err).NotTo(HaveOccurred())
	Expect(found).To(BeTrue(), "terminationGracePeriodSeconds not rendered")
	return seconds
}
