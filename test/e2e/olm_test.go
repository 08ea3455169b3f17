package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	operatorsv2 "github.com/operator-framework/api/pkg/operators/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const olmNamespace, operatorsNamespace = "olm", "operators"

// OLM installs the bundle in bundle/ with its own olm and catalog operators, running as processes against the e2e
// control plane. No CatalogSource Pod can run without a kubelet, so the suite hands the catalog operator what a
// catalog would have resolved: an approved InstallPlan with one step per object.
var _ = Describe("The OLM bundle, installed by OLM", Ordered, func() {
	var (
		csv       *operatorsv1alpha1.ClusterServiceVersion
		phases    []string // the CSV's phase timeline
		olmExited = map[string]chan struct{}{}
		startedAt time.Time
	)

	BeforeAll(func() {
		olmDir := os.Getenv("OLM_DIR")
		if olmDir == "" {
			olmDir = filepath.Join(repoRoot, "bin", "olm")
		}
		_, err := os.Stat(filepath.Join(olmDir, "olm"))
		Expect(err).NotTo(HaveOccurred(), "OLM's operators are built by `make olm` into bin/olm (or set OLM_DIR)")
		// bin/manager runs in a user and mount namespace here (see startManagerAs): say plainly if that is not allowed.
		out, err := exec.Command("unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
			"mount -t tmpfs tmpfs /var/run").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "the OLM proof runs bin/manager under `unshare --user --mount` so that "+
			"operator-lib finds a Pod namespace file, and this machine refuses it (%s). Allow unprivileged user "+
			"namespaces (e.g. sysctl kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), or run "+
			"outside a container that blocks them", strings.TrimSpace(string(out)))
		Expect(operatorsv1alpha1.AddToScheme(k8sClient.Scheme())).To(Succeed())
		Expect(operatorsv1.AddToScheme(k8sClient.Scheme())).To(Succeed())
		Expect(operatorsv2.AddToScheme(k8sClient.Scheme())).To(Succeed())
		timed("olm: install OLM's CRDs and start its olm and catalog operators", func() {
			out, err = exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "apply", "--server-side",
				"-f", filepath.Join(olmDir, "crds")).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			// OLM's operators exit when their kinds are not served yet.
			out, err = exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "wait", "--for=condition=Established",
				"--timeout=60s", "-f", filepath.Join(olmDir, "crds")).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			Eventually(func() error {
				_, err := k8sClient.RESTMapper().RESTMapping(schema.GroupKind{Group: "operators.coreos.com", Kind: "ClusterServiceVersion"})
				return err
			}).WithTimeout(30 * time.Second).Should(Succeed())
			for _, ns := range []string{olmNamespace, operatorsNamespace} {
				Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).
					To(Succeed())
			}
			// Both bind :8080 for health and metrics with no flag to move it: the second to get there fails to bind,
			// logs it and runs on (OLM only logs that error); nothing here reads either endpoint.
			for _, name := range []string{"olm", "catalog"} {
				logFile, err := os.Create(filepath.Join(logDir, "olm-"+name+".log"))
				Expect(err).NotTo(HaveOccurred())
				cmd := exec.Command(filepath.Join(olmDir, name), "--namespace="+olmNamespace, "--writeStatusName=")
				cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
				cmd.Stdout, cmd.Stderr = logFile, logFile
				cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
				Expect(cmd.Start()).To(Succeed())
				exited := make(chan struct{})
				go func() { _ = cmd.Wait(); close(exited) }()
				DeferCleanup(func() {
					_ = cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-exited:
					case <-time.After(10 * time.Second):
						_ = cmd.Process.Kill()
						<-exited
					}
				})
				olmExited[name] = exited
			}
			for name, exited := range olmExited {
				Consistently(exited).WithTimeout(2*time.Second).ShouldNot(BeClosed(),
					"OLM's %s operator exited at start; see its log in %s", name, logDir)
			}
		})
		csv = bundleCSV()
	})

	AfterAll(func() {
		// Leave no maintenance behind for the other containers (/status is cluster-wide).
		_ = k8sClient.Delete(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "shop-olm", Name: "storefront"}})
		_ = kubelet.Remove(ctx(), "shop-olm", "checkout-olm-a")
	})

	It("reaches Succeeded from an approved InstallPlan, with the Deployment reported available", func() {
		startedAt = time.Now()
		record := func() {
			live := &operatorsv1alpha1.ClusterServiceVersion{}
			if k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace, Name: csv.Name}, live) != nil {
				return
			}
			p := string(live.Status.Phase)
			if p == "" {
				p = "(none)"
			}
			if len(phases) == 0 || !strings.HasPrefix(phases[len(phases)-1], p+" ") {
				phases = append(phases, fmt.Sprintf("%s at %.1fs (%s)", p, time.Since(startedAt).Seconds(), live.Status.Reason))
			}
		}
		timed("olm: OperatorGroup and InstallPlan; the catalog operator creates the bundle's objects", func() {
			Expect(k8sClient.Create(ctx(), &operatorsv1.OperatorGroup{
				ObjectMeta: metav1.ObjectMeta{Namespace: operatorsNamespace, Name: "global-operators"}})).To(Succeed())
			createInstallPlan(csv)
			Eventually(func(g Gomega) {
				record()
				live := &operatorsv1alpha1.ClusterServiceVersion{}
				g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace, Name: csv.Name}, live)).To(Succeed())
				g.Expect(live.Status.Phase).To(Equal(operatorsv1alpha1.CSVPhaseInstalling))
			}).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(), "phases: %v", phases)
		})
		timed("olm: report the Deployment available (no kubelet) until the CSV Succeeded", func() {
			Eventually(func(g Gomega) {
				record()
				reportDeploymentAvailable(g)
				live := &operatorsv1alpha1.ClusterServiceVersion{}
				g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace, Name: csv.Name}, live)).To(Succeed())
				g.Expect(live.Status.Phase).To(Equal(operatorsv1alpha1.CSVPhaseSucceeded))
			}).WithTimeout(90*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "phases: %v", phases)
		})
		record()
		fmt.Printf("\nOLM: CSV %s phase timeline:\n  %s\n", csv.Name, strings.Join(phases, "\n  "))
	})

	It("runs bin/manager with OLM's environment: it reconciles, serves /services, and reports Upgradeable", func() {
		deployment := olmDeployment()
		env := map[string]string{}
		for _, e := range deployment.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		Expect(env).To(HaveKeyWithValue("OPERATOR_CONDITION_NAME", csv.Name), "OLM injects it into the Deployment")
		sa := deployment.Spec.Template.Spec.ServiceAccountName

		var mgr *manager
		timed("olm: bin/manager as the CSV's ServiceAccount, with the Deployment's environment", func() {
			mgr = startManagerAs(operatorsNamespace, sa, env, true)
			DeferCleanup(mgr.stop)
			createNamespace("shop-olm")
			service("shop-olm", "checkout", false)
			runPods("shop-olm", "checkout", false, "checkout-olm-a")
			Expect(k8sClient.Create(ctx(), &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "shop-olm", Name: "storefront"},
				Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "checkout", Critical: true}}}})).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(mgr.services(g)).To(ContainElement(readyEntry("shop-olm", "checkout", 1)))
			}).WithTimeout(30 * time.Second).Should(Succeed())
		})
		timed("olm: the OperatorCondition's Upgradeable condition, as OLM sees it", func() {
			oc := &operatorsv2.OperatorCondition{}
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace, Name: csv.Name}, oc)).To(Succeed())
				c := meta.FindStatusCondition(oc.Spec.Conditions, operatorsv2.Upgradeable)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(c.Reason).To(Equal("NoStateToMigrate"))
			}).WithTimeout(30 * time.Second).Should(Succeed())
			Eventually(func(g Gomega) { // OLM's operatorcondition controller copies spec to status
				g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace, Name: csv.Name}, oc)).To(Succeed())
				g.Expect(meta.IsStatusConditionTrue(oc.Status.Conditions, operatorsv2.Upgradeable)).To(BeTrue())
			}).WithTimeout(30 * time.Second).Should(Succeed())
			shown, err := yaml.Marshal(map[string]any{"spec": oc.Spec, "status": oc.Status})
			Expect(err).NotTo(HaveOccurred())
			fmt.Printf("\nOLM: OperatorCondition %s/%s:\n%s\n", oc.Namespace, oc.Name, shown)
		})
		Expect(mgr.errorLines()).To(BeEmpty(), "the manager logged errors")
	})

	It("stops seeing readiness when the RBAC lacks a rule the CSV's permissions declare", func() {
		timed("olm: without the EndpointSlice rule in OLM's RBAC, the manager sees no readiness change", func() {
			roles := &rbacv1.ClusterRoleList{}
			Expect(k8sClient.List(ctx(), roles, client.MatchingLabels{"olm.owner": csv.Name})).To(Succeed())
			var changed bool
			for i := range roles.Items {
				role := &roles.Items[i]
				kept := role.Rules[:0]
				for _, r := range role.Rules {
					if len(r.Resources) == 1 && r.Resources[0] == "endpointslices" {
						changed = true
						continue
					}
					kept = append(kept, r)
				}
				role.Rules = kept
				Expect(k8sClient.Update(ctx(), role)).To(Succeed())
			}
			Expect(changed).To(BeTrue(), "no ClusterRole of the CSV granted endpointslices")
			deployment := olmDeployment()
			env := map[string]string{}
			for _, e := range deployment.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			mgr := startManagerAs(operatorsNamespace, deployment.Spec.Template.Spec.ServiceAccountName, env, false)
			DeferCleanup(mgr.stop)
			// The API still serves the last status, but the reconciler cannot watch EndpointSlices: a Pod going
			// unready is never reported, and the log says why.
			Eventually(func(g Gomega) {
				g.Expect(mgr.services(g)).To(ContainElement(readyEntry("shop-olm", "checkout", 1)))
			}).WithTimeout(30 * time.Second).Should(Succeed())
			Expect(kubelet.SetReady(ctx(), "shop-olm", "checkout-olm-a", false)).To(Succeed())
			Consistently(func(g Gomega) {
				g.Expect(mgr.services(g)).To(ContainElement(readyEntry("shop-olm", "checkout", 1)))
			}).WithTimeout(5 * time.Second).Should(Succeed())
			Eventually(mgr.logs.String).WithTimeout(30 * time.Second).Should(And(
				ContainSubstring("endpointslices.discovery.k8s.io is forbidden"),
				ContainSubstring("system:serviceaccount:operators:maintenance-window-manager-controller-manager")))
		})
	})
})

// bundleCSV reads the CSV of bundle/ and places it in the operators namespace.
func bundleCSV() *operatorsv1alpha1.ClusterServiceVersion {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "bundle", "manifests", "maintenance-window-manager.clusterserviceversion.yaml"))
	Expect(err).NotTo(HaveOccurred(), "run `make bundle`")
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	Expect(yaml.Unmarshal(raw, csv)).To(Succeed())
	csv.Namespace = operatorsNamespace
	return csv
}

// createInstallPlan creates an approved InstallPlan in the Installing phase whose steps are what OLM's resolver
// would produce for the bundle: the CRD, the ServiceAccount and RBAC derived from the CSV's permissions (before
// the CSV: OLM does not requeue a CSV when they appear later), the CSV, then the bundle's other objects.
func createInstallPlan(csv *operatorsv1alpha1.ClusterServiceVersion) {
	var objs, others []client.Object
	entries, err := os.ReadDir(filepath.Join(repoRoot, "bundle", "manifests"))
	Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".clusterserviceversion.yaml") {
			continue
		}
		decoded, err := testutil.DecodeYAMLFile(filepath.Join(repoRoot, "bundle", "manifests", e.Name()))
		Expect(err).NotTo(HaveOccurred())
		for _, obj := range decoded {
			if obj.GetKind() == "CustomResourceDefinition" {
				objs = append(objs, obj)
			} else {
				others = append(others, obj)
			}
		}
	}
	owner := map[string]string{"olm.owner": csv.Name, "olm.owner.kind": "ClusterServiceVersion",
		"olm.owner.namespace": csv.Namespace}
	spec := csv.Spec.InstallStrategy.StrategySpec
	accounts := map[string]bool{}
	addAccount := func(name string) {
		if !accounts[name] {
			accounts[name] = true
			objs = append(objs, &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
				ObjectMeta: metav1.ObjectMeta{Namespace: csv.Namespace, Name: name, Labels: owner}})
		}
	}
	rbacMeta := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind}
	}
	for i, p := range spec.Permissions {
		addAccount(p.ServiceAccountName)
		name := fmt.Sprintf("%s-%s-%d", csv.Name, p.ServiceAccountName, i)
		objs = append(objs,
			&rbacv1.Role{TypeMeta: rbacMeta("Role"),
				ObjectMeta: metav1.ObjectMeta{Namespace: csv.Namespace, Name: name, Labels: owner}, Rules: p.Rules},
			&rbacv1.RoleBinding{TypeMeta: rbacMeta("RoleBinding"),
				ObjectMeta: metav1.ObjectMeta{Namespace: csv.Namespace, Name: name, Labels: owner},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: csv.Namespace, Name: p.ServiceAccountName}}})
	}
	for i, p := range spec.ClusterPermissions {
		addAccount(p.ServiceAccountName)
		name := fmt.Sprintf("%s-cluster-%d", csv.Name, i)
		objs = append(objs,
			&rbacv1.ClusterRole{TypeMeta: rbacMeta("ClusterRole"),
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: owner}, Rules: p.Rules},
			&rbacv1.ClusterRoleBinding{TypeMeta: rbacMeta("ClusterRoleBinding"),
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: owner},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: csv.Namespace, Name: p.ServiceAccountName}}})
	}
	// The bundle's other objects (Services, ClusterRoles) come after the CSV: OLM makes the CSV their owner.
	csv.TypeMeta = metav1.TypeMeta{APIVersion: "operators.coreos.com/v1alpha1", Kind: "ClusterServiceVersion"}
	objs = append(append(objs, csv), others...)

	plan := &operatorsv1alpha1.InstallPlan{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorsNamespace, Name: "install-" + csv.Name},
		Spec: operatorsv1alpha1.InstallPlanSpec{ClusterServiceVersionNames: []string{csv.Name},
			Approval: operatorsv1alpha1.ApprovalAutomatic, Approved: true},
	}
	Expect(k8sClient.Create(ctx(), plan)).To(Succeed())
	plan.Status = operatorsv1alpha1.InstallPlanStatus{Phase: operatorsv1alpha1.InstallPlanPhaseInstalling, CatalogSources: []string{}}
	for _, o := range objs {
		raw, err := json.Marshal(o)
		Expect(err).NotTo(HaveOccurred())
		gvk := o.GetObjectKind().GroupVersionKind()
		plan.Status.Plan = append(plan.Status.Plan, &operatorsv1alpha1.Step{Resolving: csv.Name,
			Status: operatorsv1alpha1.StepStatusUnknown,
			Resource: operatorsv1alpha1.StepResource{CatalogSource: "mwm-bundle-dir", CatalogSourceNamespace: olmNamespace,
				Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Name: o.GetName(), Manifest: string(raw)}})
	}
	Expect(k8sClient.Status().Update(ctx(), plan)).To(Succeed())
}

func olmDeployment() *appsv1.Deployment {
	deployment := &appsv1.Deployment{}
	Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace,
		Name: "maintenance-window-manager-controller-manager"}, deployment)).To(Succeed())
	Expect(deployment.Spec.Template.Spec.Containers).To(HaveLen(1))
	return deployment
}

// reportDeploymentAvailable writes the status a Deployment controller and kubelets would: every replica updated,
// ready and available, for the current generation (OLM rewrites the Deployment, e.g. to add its environment).
func reportDeploymentAvailable(g Gomega) {
	deployment := &appsv1.Deployment{}
	err := k8sClient.Get(ctx(), client.ObjectKey{Namespace: operatorsNamespace,
		Name: "maintenance-window-manager-controller-manager"}, deployment)
	if err != nil {
		return // not created yet
	}
	if deployment.Status.ObservedGeneration == deployment.Generation && deployment.Status.AvailableReplicas > 0 {
		return
	}
	replicas := int32(1)
	if deployment.Spec.Replicas != nil {
		replicas = *deployment.Spec.Replicas
	}
	now := metav1.Now()
	deployment.Status = appsv1.DeploymentStatus{ObservedGeneration: deployment.Generation, Replicas: replicas,
		UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
				LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
				LastUpdateTime: now, LastTransitionTime: now},
		}}
	g.Expect(client.IgnoreNotFound(k8sClient.Status().Update(ctx(), deployment))).To(Succeed())
}
