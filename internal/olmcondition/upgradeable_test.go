package olmcondition

import (
	"context"
	"time"
	_ "unsafe" // for go:linkname, see operatorLibReadNamespace

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiv2 "github.com/operator-framework/api/pkg/operators/v2"
	"github.com/operator-framework/operator-lib/conditions"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// operatorLibReadNamespace is operator-lib's hook for the Pod namespace, which it reads from the service account
// file that exists only inside a Pod. operator-lib's own tests replace it the same way; nothing else is replaced.
//
//go:linkname operatorLibReadNamespace github.com/operator-framework/operator-lib/conditions.readNamespace
var operatorLibReadNamespace func() (string, error)

const serviceAccount = "mwm-controller-manager"

var _ = Describe("Upgradeable condition", func() {
	var (
		ns, conditionName string
		ctx               context.Context
	)

	BeforeEach(func() {
		ctx = context.Background()
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "olm-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		conditionName = "maintenance-window-manager.v0.1.0"
		grantAsOLMDoes(ctx, ns, conditionName)

		original := operatorLibReadNamespace
		operatorLibReadNamespace = func() (string, error) { return ns, nil }
		DeferCleanup(func() { operatorLibReadNamespace = original })
	})

	It("is set to True by the leader when OLM names the OperatorCondition", func() {
		Expect(k8sClient.Create(ctx, operatorCondition(ns, conditionName))).To(Succeed())
		GinkgoT().Setenv(EnvConditionName, conditionName)

		mgr := newManager(ns)
		added, err := Setup(mgr)
		Expect(err).NotTo(HaveOccurred())
		Expect(added).To(BeTrue())
		startManager(mgr)

		Eventually(func(g Gomega) {
			oc := &apiv2.OperatorCondition{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: conditionName}, oc)).To(Succeed())
			c := meta.FindStatusCondition(oc.Spec.Conditions, apiv2.Upgradeable)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(ReasonUpgradeable))
			g.Expect(c.Message).To(Equal(MessageUpgradeable))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})

	It("does nothing when OPERATOR_CONDITION_NAME is unset (Helm, install.yaml, a local run)", func() {
		Expect(k8sClient.Create(ctx, operatorCondition(ns, conditionName))).To(Succeed())
		GinkgoT().Setenv(EnvConditionName, "")

		mgr := newManager(ns)
		added, err := Setup(mgr)
		Expect(err).NotTo(HaveOccurred())
		Expect(added).To(BeFalse())
		startManager(mgr)
		Eventually(mgr.Elected()).WithTimeout(20 * time.Second).Should(BeClosed())

		Consistently(func(g Gomega) {
			oc := &apiv2.OperatorCondition{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: conditionName}, oc)).To(Succeed())
			g.Expect(oc.Spec.Conditions).To(BeEmpty())
		}).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("retries until OLM has created the OperatorCondition", func() {
		GinkgoT().Setenv(EnvConditionName, conditionName)
		cond, err := conditions.InClusterFactory{Client: operatorClient(ns)}.NewCondition(apiv2.ConditionType(apiv2.Upgradeable))
		Expect(err).NotTo(HaveOccurred())
		reporter := &Upgradeable{Condition: cond, Log: GinkgoLogr,
			Backoff: wait.Backoff{Duration: 100 * time.Millisecond, Factor: 1, Steps: 1000}}
		runCtx, cancel := context.WithCancel(ctx)
		DeferCleanup(cancel)
		done := make(chan error)
		go func() { done <- reporter.Start(runCtx) }()

		Consistently(done).WithTimeout(time.Second).ShouldNot(Receive())
		Expect(k8sClient.Create(ctx, operatorCondition(ns, conditionName))).To(Succeed())
		Eventually(done).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
		Expect(reporter.NeedLeaderElection()).To(BeTrue())
	})

	It("says which variable to unset when it runs outside a Pod", func() {
		operatorLibReadNamespace = func() (string, error) {
			return "", conditionsErrNoNamespace
		}
		GinkgoT().Setenv(EnvConditionName, conditionName)
		_, err := Setup(newManager(ns))
		Expect(err).To(MatchError(And(
			ContainSubstring(`OPERATOR_CONDITION_NAME="maintenance-window-manager.v0.1.0"`),
			ContainSubstring("unset it outside OLM"),
			ContainSubstring(conditionsErrNoNamespace.Error()))))
	})
})

// conditionsErrNoNamespace is the error operator-lib returns when the service account file is missing.
var conditionsErrNoNamespace = errNoNamespace{}

type errNoNamespace struct{}

func (errNoNamespace) Error() string { return "namespace not found for current environment" }

func operatorCondition(ns, name string) *apiv2.OperatorCondition {
	return &apiv2.OperatorCondition{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       apiv2.OperatorConditionSpec{ServiceAccounts: []string{serviceAccount}},
	}
}

// grantAsOLMDoes gives the operator's service account what OLM grants it: get, update and patch on its own
// OperatorCondition (OLM's OperatorCondition controller), plus the leader-election Lease rules from config/rbac.
func grantAsOLMDoes(ctx context.Context, ns, conditionName string) {
	Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serviceAccount}})).
		To(Succeed())
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"operators.coreos.com"}, Resources: []string{"operatorconditions"},
			ResourceNames: []string{conditionName}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
	Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "operator"}, Rules: rules})).
		To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "operator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "operator"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: serviceAccount}},
	})).To(Succeed())
}

// operatorConfig is the admin configuration impersonating the operator's service account.
func operatorConfig(ns string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + serviceAccount}
	return c
}

func operatorClient(ns string) client.Client {
	c, err := client.New(operatorConfig(ns), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func newManager(ns string) ctrl.Manager {
	mgr, err := ctrl.NewManager(operatorConfig(ns), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		LeaderElection:          true,
		LeaderElectionID:        "olmcondition-test",
		LeaderElectionNamespace: ns,
		Logger:                  GinkgoLogr,
	})
	Expect(err).NotTo(HaveOccurred())
	return mgr
}

func startManager(mgr ctrl.Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- mgr.Start(ctx) }()
	DeferCleanup(func() {
		cancel()
		Eventually(done).WithTimeout(10 * time.Second).Should(Receive(BeNil()))
	})
}
