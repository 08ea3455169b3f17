package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/cli"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// kubeconfigFor writes a kubeconfig of a test user whose context defaults to namespace.
func kubeconfigFor(user envtest.User, namespace string) string {
	u, err := testEnv.AddUser(user, nil)
	Expect(err).NotTo(HaveOccurred())
	raw, err := u.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	cfg, err := clientcmd.Load(raw)
	Expect(err).NotTo(HaveOccurred())
	cfg.Contexts[cfg.CurrentContext].Namespace = namespace
	path := filepath.Join(GinkgoT().TempDir(), user.Name+".kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	return path
}

// grant binds user, in namespace, to a new Role called name that allows verbs on resources of the operator's API
// group.
func grant(namespace, name, user string, resources, verbs []string) {
	ExpectWithOffset(1, k8sClient.Create(ctx(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: resources, Verbs: verbs}},
	})).To(Succeed())
	ExpectWithOffset(1, k8sClient.Create(ctx(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())
}

func mwmctl(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut testutil.SyncBuffer
	code := cli.Run(ctx, "mwmctl", args, cli.IO{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

var _ = Describe("mwmctl through a kubeconfig", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond

	It("shows and follows the ServiceCheckers' status with -A and -n, and falls back when cluster-wide listing is forbidden", func() {
		ns, other := createNamespace(), createNamespace()
		createService(ns, "api")
		slice := createSlice(ns, "api", "api-1", true)
		createService(other, "db")
		createSlice(other, "db", "db-1", true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api", Critical: true},
			v1alpha1.ServiceRef{Name: "db", Namespace: other})
		admin := kubeconfigFor(envtest.User{Name: "mwmctl-admin", Groups: []string{"system:masters"}}, "default")

		By("status -A -o json lists both Services, merged like the API")
		Eventually(func(g Gomega) {
			code, out, stderr := mwmctl(ctx(), "status", "-A", "-o", "json", "--kubeconfig", admin, "--checker", ns+"/shop")
			g.Expect(code).To(Equal(cli.ExitOK), stderr)
			var entries []snapshot.Entry
			g.Expect(json.Unmarshal([]byte(out), &entries)).To(Succeed())
			g.Expect(entries).To(HaveLen(2))
			g.Expect(entries).To(ContainElement(And(HaveField("Name", "api"), HaveField("Ready", true),
				HaveField("Critical", true))))
		}, timeout, interval).Should(Succeed())

		By("status -n keeps the Services of one namespace")
		code, out, _ := mwmctl(ctx(), "status", "-n", other, "--kubeconfig", admin)
		Expect(code).To(Equal(cli.ExitOK))
		Expect(out).To(ContainSubstring(other + "   db"))
		Expect(out).NotTo(ContainSubstring(" api "))

		By("watch follows a readiness flip through a Kubernetes watch")
		watchCtx, stop := context.WithCancel(ctx())
		var watchOut, watchErr testutil.SyncBuffer
		done := make(chan int)
		go func() {
			done <- cli.Run(watchCtx, "mwmctl", []string{"watch", "-n", ns, "--kubeconfig", admin},
				cli.IO{Out: &watchOut, Err: &watchErr, Getenv: func(string) string { return "" }})
		}()
		Eventually(watchOut.String, timeout).Should(ContainSubstring("initial    " + ns + "/api"))
		slice.Endpoints[0].Conditions.Ready = ptr.To(false)
		Expect(k8sClient.Update(ctx(), slice)).To(Succeed())
		Eventually(watchOut.String, timeout).Should(ContainSubstring("not-ready  " + ns + "/api"))
		stop()
		Eventually(done, timeout).Should(Receive(Equal(cli.ExitOK)))

		By("check reports the maintenance with exit code 1")
		Eventually(func() int {
			code, _, _ := mwmctl(ctx(), "check", "--checker", ns+"/shop", "--kubeconfig", admin)
			return code
		}, timeout, interval).Should(Equal(cli.ExitMaintenance))

		By("a user who may list ServiceCheckers only in its context's namespace sees those, with a note")
		grant(ns, "viewer", "team-viewer", []string{"servicecheckers"}, []string{"get", "list", "watch"})
		viewer := kubeconfigFor(envtest.User{Name: "team-viewer"}, ns)
		Eventually(func(g Gomega) {
			code, out, stderr := mwmctl(ctx(), "status", "--kubeconfig", viewer)
			g.Expect(code).To(Equal(cli.ExitOK), stderr)
			g.Expect(stderr).To(ContainSubstring("forbidden; showing those of namespace " + ns + " only"))
			g.Expect(out).To(ContainSubstring(ns + "   api"))
		}, timeout, interval).Should(Succeed())

		By("a user without any permission is told what was denied, with exit code 3")
		nobody := kubeconfigFor(envtest.User{Name: "nobody"}, ns)
		code, _, stderr := mwmctl(ctx(), "status", "--kubeconfig", nobody)
		Expect(code).To(Equal(cli.ExitSource))
		Expect(stderr).To(ContainSubstring("the cluster denied list servicecheckers.maintenance.mamrezb.com in namespace " + ns))
		Expect(strings.Count(stderr, "mwmctl: ")).To(Equal(1), "one error line: %s", stderr)
		Expect(stderr).NotTo(ContainSubstring("goroutine"), "no stack trace")
	})
})
