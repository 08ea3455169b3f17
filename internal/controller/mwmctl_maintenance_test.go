package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/cli"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// apiStatus reads /status?checker= from the leader's API.
func apiStatus(g Gomega, checker string) snapshot.Summary {
	resp, err := apiClient.Get("https://" + leaderAPI.Addr().String() + "/status?checker=" + checker)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var s snapshot.Summary
	g.Expect(json.NewDecoder(resp.Body).Decode(&s)).To(Succeed())
	return s
}

// untilMaintenance polls the leader's /status?checker= every 5 ms until maintenance is want, and returns when it
// saw it.
func untilMaintenance(checker string, want bool) time.Time {
	GinkgoHelper()
	var seen time.Time
	Eventually(func(g Gomega) {
		g.Expect(apiStatus(g, checker).Maintenance).To(Equal(want))
		seen = time.Now()
	}, 10*time.Second, 5*time.Millisecond).Should(Succeed())
	return seen
}

var _ = Describe("mwmctl maintenance on/off and windows through a kubeconfig", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond

	It("switches a ServiceChecker into maintenance and out, lists the windows like the API, and explains refusals", func() {
		// mwmctl writes windows starting and ending at the real now, and the suite's manager runs on a fake clock:
		// make that clock follow the real one for this spec (to 5 ms; a window seen a few ms before its start is
		// requeued at it).
		was := testClock.Now()
		ticking, stopTicking := context.WithCancel(ctx())
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			for ticking.Err() == nil {
				testClock.SetTime(time.Now())
				time.Sleep(5 * time.Millisecond)
			}
		}()
		DeferCleanup(func() { stopTicking(); <-ticked; testClock.SetTime(was) })

		ns := createNamespace()
		createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		createService(ns, "search")
		createSlice(ns, "search", "search-1", true)
		createChecker(ns, "storefront", v1alpha1.ServiceRef{Name: "api", Critical: true}, v1alpha1.ServiceRef{Name: "search"})
		checker := ns + "/storefront"
		admin := kubeconfigFor(envtest.User{Name: "mwmctl-oncall", Groups: []string{"system:masters"}}, ns)
		api := []string{"--api-url", "https://" + leaderAPI.Addr().String(), "--api-insecure-skip-tls-verify"}
		transcript := &strings.Builder{}
		shell := func(args ...string) (int, string, string) {
			code, out, stderr := mwmctl(ctx(), args...)
			shown := make([]string, 0, len(args))
			for _, a := range args {
				if strings.Contains(a, " ") {
					a = fmt.Sprintf("%q", a)
				}
				shown = append(shown, a)
			}
			_, _ = fmt.Fprintf(transcript, "$ mwmctl %s\n%s%s(exit %d)\n", strings.Join(shown, " "), out, stderr, code)
			return code, out, stderr
		}

		// A recurring window on a Service that is not critical: active, without putting storefront in maintenance.
		createWindow(ns, "search-reindex", nil, v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
			Services: []string{"search"}, Title: "Search reindex", Schedule: "* * * * *",
			Duration: &metav1.Duration{Duration: 2 * time.Minute}, Announce: &metav1.Duration{}})
		Eventually(func(g Gomega) {
			s := apiStatus(g, checker)
			g.Expect(s.Services).To(Equal(2))
			g.Expect(s.Ready).To(Equal(2))
			g.Expect(s.Windows.Active).To(HaveLen(1))
			g.Expect(s.Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())

		By("watch through the kubeconfig follows the windows")
		watchCtx, stopWatch := context.WithCancel(ctx())
		DeferCleanup(stopWatch)
		var watchOut, watchErr testutil.SyncBuffer
		watchDone := make(chan int)
		go func() {
			watchDone <- cli.Run(watchCtx, "mwmctl", []string{"watch", "-n", ns, "--kubeconfig", admin},
				cli.IO{Out: &watchOut, Err: &watchErr, Getenv: func(string) string { return "" }})
		}()
		Eventually(watchOut.String, timeout).Should(ContainSubstring("window-active  " + ns + "/search-reindex"))

		By("maintenance on creates a labelled one-off window with start and end, and /status follows")
		before := time.Now()
		code, out, stderr := shell("maintenance", "on", "storefront", "-n", ns, "--for", "2h",
			"--title", "Database upgrade", "--message", "Checkout is paused while we upgrade the database.",
			"--kubeconfig", admin)
		returned := time.Now()
		Expect(code).To(Equal(cli.ExitOK), stderr)
		inMaintenance := untilMaintenance(checker, true)
		Expect(out).To(HavePrefix(ns + "/storefront-manual-"))
		name := strings.TrimPrefix(strings.TrimSpace(out), ns+"/")
		Expect(stderr).To(ContainSubstring("maintenance on for ServiceChecker " + checker + ", until "))
		Expect(stderr).To(ContainSubstring("end it with: mwmctl maintenance off storefront -n " + ns))
		var w v1alpha1.MaintenanceWindow
		Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: name}, &w)).To(Succeed())
		Expect(w.Labels).To(HaveKeyWithValue(v1alpha1.LabelManual, "true"))
		Expect(w.Spec.Checkers).To(Equal([]string{"storefront"}))
		Expect(w.Spec.Title).To(Equal("Database upgrade"))
		Expect(w.Spec.Start).NotTo(BeNil())
		Expect(w.Spec.Start.Time).To(BeTemporally("~", before, time.Second))
		Expect(w.Spec.End).NotTo(BeNil())
		Expect(w.Spec.End.Sub(w.Spec.Start.Time)).To(Equal(2 * time.Hour))
		Expect(w.Spec.Duration).To(BeNil())
		Eventually(watchOut.String, timeout).Should(ContainSubstring("window-started  " + ns + "/" + name))

		By("status, check and windows name the window, from the kubeconfig and from the API alike")
		Eventually(func(g Gomega) {
			code, out, _ := mwmctl(ctx(), "status", "-n", ns, "--kubeconfig", admin)
			g.Expect(code).To(Equal(cli.ExitOK))
			g.Expect(out).To(ContainSubstring("2 services, all ready: in maintenance: "))
			g.Expect(out).To(ContainSubstring(`window ` + ns + "/" + name + ` "Database upgrade" until `))
		}, timeout, interval).Should(Succeed())
		shell("status", "--checker", checker, "--kubeconfig", admin)
		code, out, _ = shell("check", "--checker", checker, "--kubeconfig", admin)
		Expect(code).To(Equal(cli.ExitMaintenance))
		Expect(out).To(ContainSubstring(`window ` + ns + "/" + name + ` "Database upgrade"`))
		Eventually(func(g Gomega) {
			_, fromCluster, _ := mwmctl(ctx(), "windows", "-n", ns, "-o", "json", "--kubeconfig", admin)
			_, fromAPI, _ := mwmctl(ctx(), append([]string{"windows", "-n", ns, "-o", "json"}, api...)...)
			g.Expect(fromCluster).To(MatchJSON(fromAPI))
			var listed []snapshot.Window
			g.Expect(json.Unmarshal([]byte(fromCluster), &listed)).To(Succeed())
			g.Expect(listed).To(HaveLen(2))
		}, timeout, interval).Should(Succeed())
		code, out, _ = shell("windows", "-n", ns, "--kubeconfig", admin)
		Expect(code).To(Equal(cli.ExitOK))
		Expect(out).To(MatchRegexp(`(?m)^` + ns + `/` + name + ` +Active +\S+ +\S+ +Database upgrade$`))
		Expect(out).To(MatchRegexp(`(?m)^` + ns + `/search-reindex +Active +.* +Search reindex$`))
		_, _, _ = shell(append([]string{"windows", "-n", ns, "-o", "wide"}, api...)...)

		By("check --wait from the API waits for the end of the window")
		waited := make(chan int, 1)
		waitCtx, stopWaiting := context.WithCancel(ctx())
		DeferCleanup(stopWaiting)
		go func() {
			code, _, _ := mwmctl(waitCtx, append([]string{"check", "--checker", checker, "--wait", "30s", "--interval",
				"50ms"}, api...)...)
			waited <- code
		}()
		Consistently(waited, 300*time.Millisecond).ShouldNot(Receive())

		By("maintenance off ends it, names it, keeps the recurring window, and /status follows")
		offBefore := time.Now()
		code, out, stderr = shell("maintenance", "off", "storefront", "-n", ns, "--kubeconfig", admin)
		offReturned := time.Now()
		Expect(code).To(Equal(cli.ExitOK), stderr)
		outOfMaintenance := untilMaintenance(checker, false)
		Expect(out).To(ContainSubstring("ended window " + ns + "/" + name + ` "Database upgrade" (end set to `))
		Expect(out).To(ContainSubstring("still active: recurring window " + ns + `/search-reindex "Search reindex" until `))
		Expect(out).To(ContainSubstring(`suspend it with: kubectl patch mwin search-reindex -n ` + ns +
			` --type merge -p '{"spec":{"suspend":true}}'`))
		Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: name}, &w)).To(Succeed())
		Expect(w.Spec.End.Time).To(BeTemporally("~", offBefore, time.Second))
		Expect(w.Spec.End.After(w.Spec.Start.Time)).To(BeTrue())
		Eventually(waited, timeout).Should(Receive(Equal(cli.ExitOK)))
		Eventually(watchOut.String, timeout).Should(ContainSubstring("window-ended  " + ns + "/" + name))
		Eventually(func(g Gomega) {
			w := windowOf(g, ns, name)
			g.Expect(w.Status.Phase).To(Equal(v1alpha1.PhaseCompleted))
		}, timeout, interval).Should(Succeed())
		shell("windows", "-n", ns, "--kubeconfig", admin)

		report := fmt.Sprintf("mwmctl maintenance on: the command took %v; /status?checker= said maintenance true %v "+
			"after it returned. mwmctl maintenance off: the command took %v; /status said maintenance false %v after "+
			"it returned", returned.Sub(before).Round(time.Millisecond), inMaintenance.Sub(returned).Round(time.Millisecond),
			offReturned.Sub(offBefore).Round(time.Millisecond), outOfMaintenance.Sub(offReturned).Round(time.Millisecond))
		AddReportEntry("mwmctl maintenance on/off timings", report)
		GinkgoWriter.Println(report)
		Expect(inMaintenance.Sub(returned)).To(BeNumerically("<", 2*time.Second))
		Expect(outOfMaintenance.Sub(offReturned)).To(BeNumerically("<", 2*time.Second))

		By("off with nothing active says so and exits 0")
		code, out, _ = shell("maintenance", "off", "storefront", "-n", ns, "--kubeconfig", admin)
		Expect(code).To(Equal(cli.ExitOK))
		Expect(out).To(ContainSubstring("no active one-off window names ServiceChecker " + checker + ": nothing to end"))

		stopWatch()
		Eventually(watchDone, timeout).Should(Receive(Equal(cli.ExitOK)))
		_, _ = fmt.Fprintf(transcript, "$ mwmctl watch -n %s --kubeconfig %s   (from before on until after off)\n%s", ns,
			admin, watchOut.String())

		By("an unknown ServiceChecker is exit 3")
		for _, verb := range []string{"on", "off"} {
			code, out, stderr = shell("maintenance", verb, "storfront", "-n", ns, "--kubeconfig", admin)
			Expect(code).To(Equal(cli.ExitSource))
			Expect(out).To(BeEmpty())
			Expect(stderr).To(ContainSubstring("ServiceChecker " + ns + "/storfront not found in the cluster at "))
		}

		By("a user without rights gets exit 3 and the ClusterRole to ask for")
		nobody := kubeconfigFor(envtest.User{Name: "mwmctl-nobody"}, ns)
		code, _, stderr = shell("maintenance", "on", "storefront", "--kubeconfig", nobody)
		Expect(code).To(Equal(cli.ExitSource))
		Expect(stderr).To(ContainSubstring("note: you may not read ServiceChecker " + checker))
		Expect(stderr).To(ContainSubstring("denied create maintenancewindows.maintenance.mamrezb.com in namespace " + ns))
		Expect(stderr).To(ContainSubstring(`User "mwmctl-nobody" cannot create resource`))
		Expect(stderr).To(ContainSubstring("maintenance-window-manager-maintenancewindow-editor-role"))
		Expect(strings.Count(stderr, "mwmctl: ")).To(Equal(1), stderr)
		code, _, stderr = shell("maintenance", "off", "storefront", "--kubeconfig", nobody)
		Expect(code).To(Equal(cli.ExitSource))
		Expect(stderr).To(ContainSubstring("denied list maintenancewindows.maintenance.mamrezb.com in namespace " + ns))

		By("a maintainer with rights on MaintenanceWindows only (none on ServiceCheckers) switches maintenance")
		grant(ns, "window-editor", "mwmctl-maintainer", []string{"maintenancewindows"}, []string{"create", "list", "patch"})
		maintainer := kubeconfigFor(envtest.User{Name: "mwmctl-maintainer"}, ns)
		Eventually(func() int {
			code, _, _ := mwmctl(ctx(), "maintenance", "on", "storefront", "--kubeconfig", maintainer)
			return code
		}, timeout, interval).Should(Equal(cli.ExitOK))
		untilMaintenance(checker, true)
		code, out, _ = shell("maintenance", "off", "storefront", "--kubeconfig", maintainer)
		Expect(code).To(Equal(cli.ExitOK))
		Expect(out).To(ContainSubstring("ended window " + ns + "/storefront-manual-"))
		untilMaintenance(checker, false)

		By("off names the other ServiceCheckers a shared window covered too")
		start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
		Expect(k8sClient.Create(ctx(), &v1alpha1.MaintenanceWindow{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "platform-wide"},
			Spec:       v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront", "admin"}, Start: &start},
		})).To(Succeed())
		code, out, _ = shell("maintenance", "off", "storefront", "--kubeconfig", maintainer)
		Expect(code).To(Equal(cli.ExitOK))
		Expect(out).To(ContainSubstring("ended window " + ns + "/platform-wide"))
		Expect(out).To(ContainSubstring("; it also covered " + ns + "/admin"))

		AddReportEntry("mwmctl maintenance transcript", transcript.String())
		GinkgoWriter.Println(transcript.String())
	})
})
