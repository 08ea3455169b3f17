package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/readinessmetrics"
)

// realClockLabel marks the ServiceCheckers and MaintenanceWindows reconciled by the manager that runs on the real
// clock (startRealClockManager), where windows start and end by themselves through the reconcilers' requeues, as
// in production; the leader and the follower, on the suite's fake clock, ignore them.
const realClockLabel = "test.mamrezb.com/real-clock"

// realClockCoalesceInterval is the real-clock manager's --status-coalesce-interval (coalesce_test.go).
const realClockCoalesceInterval = 3 * time.Second

// startRealClockManager runs both controllers on clock.RealClock, for the objects labelled realClockLabel only,
// without leader election. A fake passive clock fires no RequeueAfter timer, so only a real clock shows that a
// status changes by itself at a window's boundary, and how late.
func startRealClockManager(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) {
	realClock, err := labels.Parse(realClockLabel)
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				&v1alpha1.ServiceChecker{}:    {Label: realClock},
				&v1alpha1.MaintenanceWindow{}: {Label: realClock},
			}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	reg := prometheus.NewRegistry()
	checkers := &ServiceCheckerReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("maintenance-window-manager"),
		Metrics: readinessmetrics.New(reg), Clock: clock.RealClock{}, StatusCoalesceInterval: realClockCoalesceInterval}
	Expect(checkers.SetupWithManager(ctx, mgr)).To(Succeed())
	windows := &MaintenanceWindowReconciler{Client: mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("maintenance-window-manager"), Metrics: NewWindowMetrics(reg),
		Clock: clock.RealClock{}}
	Expect(windows.SetupWithManager(ctx, mgr)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(ctx) }, 10*time.Second).Should(BeTrue())
}

func createWindow(ns, name string, objLabels map[string]string,
	spec v1alpha1.MaintenanceWindowSpec) *v1alpha1.MaintenanceWindow {
	w := &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: objLabels},
		Spec: spec}
	Expect(k8sClient.Create(ctx(), w)).To(Succeed())
	return w
}

func windowOf(g Gomega, ns, name string) *v1alpha1.MaintenanceWindow {
	var w v1alpha1.MaintenanceWindow
	g.Expect(k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: name}, &w)).To(Succeed())
	return &w
}

// touch changes an annotation of obj, so that a controller on the fake clock reconciles it at the clock's new time.
func touch(obj client.Object) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(ctx(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		obj.SetAnnotations(map[string]string{"test.mamrezb.com/touched": time.Now().Format(time.RFC3339Nano)})
		return k8sClient.Update(ctx(), obj)
	})).To(Succeed())
}

// eventsOf lists the Events regarding the object ns/name as "Type/Reason".
func eventsOf(g Gomega, ns, name string) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx(), &list, client.InNamespace(ns))).To(Succeed())
	var seen []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			seen = append(seen, e.Type+"/"+e.Reason)
		}
	}
	return seen
}

// windowActive returns mwm_maintenance_window_active for the window on the leader's registry, -1 without a series.
func windowActive(ns, name string) float64 {
	families, err := registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "mwm_maintenance_window_active" {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["namespace"] == ns && got["name"] == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func windowsOfEntries(sc *v1alpha1.ServiceChecker) map[string]string {
	out := map[string]string{}
	for _, e := range sc.Status.ServiceStatuses {
		out[e.Namespace+"/"+e.Name] = e.MaintenanceWindow
	}
	return out
}

func utcTime(s string) metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	Expect(err).NotTo(HaveOccurred())
	return metav1.NewTime(t)
}

func occ(start, end string) v1alpha1.Occurrence {
	return v1alpha1.Occurrence{Start: utcTime(start), End: ptr.To(utcTime(end))}
}

// firstSeen watches the ServiceCheckers and MaintenanceWindows of a namespace and remembers, for each named
// condition, when a watch event first satisfied it (after the condition it follows, if any) and the object.
type firstSeen struct {
	mu    sync.Mutex
	at    map[string]time.Time
	obj   map[string]client.Object
	conds map[string]seenCondition
}

type seenCondition struct {
	after string // the name of a condition that must be seen first; "" for none
	holds func(client.Object) bool
}

func watchFirstSeen(ns string, conds map[string]seenCondition) *firstSeen {
	GinkgoHelper()
	wc, err := client.NewWithWatch(testEnv.Config, client.Options{Scheme: k8sClient.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	f := &firstSeen{at: map[string]time.Time{}, obj: map[string]client.Object{}, conds: conds}
	wctx, stop := context.WithCancel(context.Background())
	DeferCleanup(stop)
	for _, list := range []client.ObjectList{&v1alpha1.ServiceCheckerList{}, &v1alpha1.MaintenanceWindowList{}} {
		w, err := wc.Watch(wctx, list, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(w.Stop)
		go func() {
			for ev := range w.ResultChan() {
				seen := time.Now()
				obj, ok := ev.Object.(client.Object)
				if !ok {
					continue
				}
				f.mu.Lock()
				for name, c := range f.conds {
					_, done := f.at[name]
					_, ready := f.at[c.after]
					if !done && (c.after == "" || ready) && c.holds(obj) {
						f.at[name], f.obj[name] = seen, obj
					}
				}
				f.mu.Unlock()
			}
		}()
	}
	return f
}

func (f *firstSeen) get(name string) (time.Time, client.Object, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[name]
	return t, f.obj[name], ok
}

// occurrences formats occurrences as "start/end" in UTC, for comparisons that ignore time.Location.
func occurrences(list ...v1alpha1.Occurrence) []string {
	out := make([]string, 0, len(list))
	for _, o := range list {
		s := o.Start.UTC().Format(time.RFC3339) + "/"
		if o.End != nil {
			s += o.End.UTC().Format(time.RFC3339)
		}
		out = append(out, s)
	}
	return out
}

var _ = Describe("MaintenanceWindow controller", func() {
	const timeout, interval = 10 * time.Second, 50 * time.Millisecond

	// setFakeTime moves the suite's fake clock for this spec and puts it back afterwards.
	setFakeTime := func(t time.Time) {
		was := testClock.Now()
		testClock.SetTime(t)
		DeferCleanup(func() { testClock.SetTime(was) })
	}

	It("takes a one-off window Scheduled -> Active -> Completed at its boundaries, its ServiceChecker with it, "+
		"within a second", func() {
		ns := createNamespace()
		createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		createService(ns, "search")
		createSlice(ns, "search", "search-1", true)
		onRealClock := map[string]string{realClockLabel: "true"}
		sc := &v1alpha1.ServiceChecker{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop", Labels: onRealClock},
			Spec: v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{
				{Name: "api", Critical: true}, {Name: "search"}}},
		}
		Expect(k8sClient.Create(ctx(), sc)).To(Succeed())
		Eventually(func(g Gomega) {
			got := statusOf(ns, "shop")(g)
			g.Expect(got.Status.ReadyServices).To(Equal(int32(2)))
			g.Expect(got.Status.Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())

		// Whole seconds, as RFC 3339 in the spec carries them; far enough ahead to see Scheduled first.
		start := time.Now().Truncate(time.Second).Add(4 * time.Second)
		end := start.Add(3 * time.Second)
		phase := func(p v1alpha1.MaintenanceWindowPhase) func(client.Object) bool {
			return func(o client.Object) bool {
				w, ok := o.(*v1alpha1.MaintenanceWindow)
				return ok && w.Status.Phase == p
			}
		}
		inMaintenance := func(want bool) func(client.Object) bool {
			return func(o client.Object) bool {
				c, ok := o.(*v1alpha1.ServiceChecker)
				return ok && c.Status.Maintenance == want
			}
		}
		seen := watchFirstSeen(ns, map[string]seenCondition{
			"window active":              {holds: phase(v1alpha1.PhaseActive)},
			"window completed":           {after: "window active", holds: phase(v1alpha1.PhaseCompleted)},
			"checker in maintenance":     {holds: inMaintenance(true)},
			"checker out of maintenance": {after: "checker in maintenance", holds: inMaintenance(false)},
		})
		createWindow(ns, "db-upgrade", onRealClock, v1alpha1.MaintenanceWindowSpec{
			Checkers: []string{"shop"}, Title: "Database upgrade", Message: "Checkout is paused.",
			Start: ptr.To(metav1.NewTime(start.In(time.FixedZone("CET", 3600)))), End: ptr.To(metav1.NewTime(end)),
		})

		By("writing Scheduled with the occurrence as next, start and end")
		Eventually(func(g Gomega) {
			w := windowOf(g, ns, "db-upgrade")
			g.Expect(w.Status.ObservedGeneration).To(Equal(w.Generation))
			g.Expect(w.Status.Phase).To(Equal(v1alpha1.PhaseScheduled))
			g.Expect(w.Status.Current).To(BeNil())
			g.Expect(w.Status.Next).To(HaveLen(1))
			g.Expect(w.Status.Next[0].Start.Time.Equal(start)).To(BeTrue())
			g.Expect(w.Status.Next[0].End.Time.Equal(end)).To(BeTrue())
			g.Expect(w.Status.Start.Time.Equal(start) && w.Status.End.Time.Equal(end)).To(BeTrue())
			g.Expect(meta.IsStatusConditionTrue(w.Status.Conditions, v1alpha1.ConditionValid)).To(BeTrue())
		}, timeout, interval).Should(Succeed())
		Expect(time.Now().Before(start)).To(BeTrue(), "the window started before the test saw it Scheduled")
		Expect(statusOf(ns, "shop")(Default).Status.Maintenance).To(BeFalse())

		By("switching the window and its ServiceChecker at start and at end, by the requeues alone")
		Eventually(func() bool {
			_, _, ok := seen.get("checker out of maintenance")
			_, _, ok2 := seen.get("window completed")
			return ok && ok2
		}, time.Until(end)+timeout, interval).Should(BeTrue())

		delays := map[string]time.Duration{}
		for name, boundary := range map[string]time.Time{"window active": start, "checker in maintenance": start,
			"window completed": end, "checker out of maintenance": end} {
			at, _, ok := seen.get(name)
			Expect(ok).To(BeTrue(), name)
			delays[name] = at.Sub(boundary)
		}
		report := fmt.Sprintf("boundary -> status change seen by a watch: window Active %v, ServiceChecker in "+
			"maintenance %v, window Completed %v, ServiceChecker out of maintenance %v",
			delays["window active"], delays["checker in maintenance"], delays["window completed"],
			delays["checker out of maintenance"])
		AddReportEntry("maintenance window boundary delays", report)
		GinkgoWriter.Println(report)
		for name, d := range delays {
			Expect(d).To(BeNumerically(">=", 0), "%s before its boundary: %v", name, d)
			Expect(d).To(BeNumerically("<=", time.Second), "%s: %v after its boundary", name, d)
		}

		By("putting the ServiceChecker whole in maintenance while readiness stays truthful")
		_, obj, _ := seen.get("checker in maintenance")
		during := obj.(*v1alpha1.ServiceChecker)
		Expect(windowsOfEntries(during)).To(Equal(map[string]string{ns + "/api": "db-upgrade", ns + "/search": "db-upgrade"}))
		Expect(during.Status.ReadyServices).To(Equal(int32(2)))
		Expect(meta.IsStatusConditionTrue(during.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		c := meta.FindStatusCondition(during.Status.Conditions, v1alpha1.ConditionMaintenance)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(c.Reason).To(Equal(v1alpha1.ReasonMaintenanceWindow))
		Expect(c.Message).To(And(ContainSubstring("db-upgrade"), ContainSubstring("Database upgrade")))
		_, obj, _ = seen.get("window active")
		active := obj.(*v1alpha1.MaintenanceWindow)
		Expect(active.Status.Current).NotTo(BeNil())
		Expect(active.Status.Current.Start.Time.Equal(start)).To(BeTrue())
		Expect(active.Status.Next).To(BeEmpty())

		By("keeping the ended occurrence in start and end once Completed, and clearing the entries")
		Eventually(func(g Gomega) {
			w := windowOf(g, ns, "db-upgrade")
			g.Expect(w.Status.Phase).To(Equal(v1alpha1.PhaseCompleted))
			g.Expect(w.Status.Current).To(BeNil())
			g.Expect(w.Status.Next).To(BeEmpty())
			g.Expect(w.Status.Start.Time.Equal(start) && w.Status.End.Time.Equal(end)).To(BeTrue())
			got := statusOf(ns, "shop")(g)
			g.Expect(windowsOfEntries(got)).To(Equal(map[string]string{ns + "/api": "", ns + "/search": ""}))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionMaintenance).Reason).
				To(Equal(v1alpha1.ReasonCriticalServicesReady))
		}, timeout, interval).Should(Succeed())

		By("recording MaintenanceWindowStarted and MaintenanceWindowEnded on the ServiceChecker")
		Eventually(func(g Gomega) []string { return eventsOf(g, ns, "shop") }, timeout, interval).Should(ContainElements(
			"Normal/"+EventMaintenanceWindowStarted, "Normal/"+EventMaintenanceWindowEnded))
		var list eventsv1.EventList
		Expect(k8sClient.List(ctx(), &list, client.InNamespace(ns))).To(Succeed())
		for _, e := range list.Items {
			if e.Reason == EventMaintenanceWindowStarted {
				Expect(e.Related).NotTo(BeNil())
				Expect(e.Related.Kind).To(Equal("MaintenanceWindow"))
				Expect(e.Related.Name).To(Equal("db-upgrade"))
				Expect(e.Note).To(ContainSubstring(ns + "/api"))
			}
		}
	})

	It("lists a recurring Europe/Berlin window's next occurrences in UTC across the spring change", func() {
		// Wednesday 25 March 2026; clocks in Berlin jump from 02:00 to 03:00 on Sunday 29 March.
		setFakeTime(time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC))
		ns := createNamespace()
		createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		sc := createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api"})
		w := createWindow(ns, "weekly", nil, v1alpha1.MaintenanceWindowSpec{
			Checkers: []string{"shop"}, Title: "Weekly patching", Schedule: "30 2 * * 0", TimeZone: "Europe/Berlin",
			Duration: &metav1.Duration{Duration: time.Hour},
		})
		first := occ("2026-03-29T01:30:00Z", "2026-03-29T02:30:00Z")
		Eventually(func(g Gomega) {
			got := windowOf(g, ns, "weekly")
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseScheduled))
			g.Expect(occurrences(got.Status.Next...)).To(Equal([]string{
				"2026-03-29T01:30:00Z/2026-03-29T02:30:00Z", // 02:30 does not exist that day: 03:30 CEST
				"2026-04-05T00:30:00Z/2026-04-05T01:30:00Z", // 02:30 CEST
				"2026-04-12T00:30:00Z/2026-04-12T01:30:00Z",
			}))
			g.Expect(got.Status.Start.Equal(&first.Start) && got.Status.End.Equal(first.End)).To(BeTrue())
		}, timeout, interval).Should(Succeed())
		Eventually(func() float64 { return windowActive(ns, "weekly") }, timeout, interval).Should(Equal(0.0))

		By("being Active from 03:30 CEST, as the fake clock says, with the ServiceChecker in maintenance")
		testClock.SetTime(first.Start.Time)
		touch(w)
		touch(sc)
		Eventually(func(g Gomega) {
			got := windowOf(g, ns, "weekly")
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseActive))
			g.Expect(got.Status.Current).NotTo(BeNil())
			g.Expect(occurrences(*got.Status.Current)).To(Equal(occurrences(first)))
			g.Expect(occurrences(got.Status.Next...)[0]).To(Equal("2026-04-05T00:30:00Z/2026-04-05T01:30:00Z"))
			c := statusOf(ns, "shop")(g)
			g.Expect(c.Status.Maintenance).To(BeTrue())
			g.Expect(windowsOfEntries(c)).To(Equal(map[string]string{ns + "/api": "weekly"}))
		}, timeout, interval).Should(Succeed())
		Eventually(func() float64 { return windowActive(ns, "weekly") }, timeout, interval).Should(Equal(1.0))

		By("going back to Scheduled at the end")
		testClock.SetTime(first.End.Time)
		touch(w)
		touch(sc)
		Eventually(func(g Gomega) {
			got := windowOf(g, ns, "weekly")
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseScheduled))
			g.Expect(got.Status.Current).To(BeNil())
			g.Expect(statusOf(ns, "shop")(g).Status.Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())

		By("deleting the series of a deleted window")
		Expect(k8sClient.Delete(ctx(), w)).To(Succeed())
		Eventually(func() float64 { return windowActive(ns, "weekly") }, timeout, interval).Should(Equal(-1.0))
	})

	It("covers only the listed Services, and puts the ServiceChecker in maintenance for a critical one", func() {
		ns := createNamespace()
		data := createNamespace()
		createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		createService(ns, "search")
		createSlice(ns, "search", "search-1", true)
		createService(data, "db")
		createSlice(data, "db", "db-1", true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api", Critical: true}, v1alpha1.ServiceRef{Name: "search"},
			v1alpha1.ServiceRef{Name: "db", Namespace: data, Critical: true})
		now := testClock.Now()
		active := func(services ...string) v1alpha1.MaintenanceWindowSpec {
			return v1alpha1.MaintenanceWindowSpec{Checkers: []string{"shop"}, Services: services,
				Start: ptr.To(metav1.NewTime(now.Add(-10 * time.Minute))), Duration: &metav1.Duration{Duration: time.Hour}}
		}

		By("covering a non-critical Service: its entry names the window, no maintenance")
		createWindow(ns, "reindex", nil, active("search"))
		Eventually(func(g Gomega) {
			c := statusOf(ns, "shop")(g)
			g.Expect(windowsOfEntries(c)).To(Equal(map[string]string{ns + "/api": "", ns + "/search": "reindex",
				data + "/db": ""}))
			g.Expect(c.Status.Maintenance).To(BeFalse())
			g.Expect(meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionMaintenance).Reason).
				To(Equal(v1alpha1.ReasonCriticalServicesReady))
		}, timeout, interval).Should(Succeed())
		Eventually(func() float64 { return windowActive(ns, "reindex") }, timeout, interval).Should(Equal(1.0))

		By("covering a critical Service of another namespace, named namespace/name: maintenance")
		move := createWindow(ns, "db-move", nil, v1alpha1.MaintenanceWindowSpec{Checkers: []string{"shop"},
			Services: []string{data + "/db"}, Title: "Moving the database", Start: ptr.To(metav1.NewTime(now)),
			Duration: &metav1.Duration{Duration: time.Hour}})
		Eventually(func(g Gomega) {
			c := statusOf(ns, "shop")(g)
			g.Expect(windowsOfEntries(c)).To(Equal(map[string]string{ns + "/api": "", ns + "/search": "reindex",
				data + "/db": "db-move"}))
			g.Expect(c.Status.Maintenance).To(BeTrue())
			g.Expect(c.Status.ReadyServices).To(Equal(int32(3)))
			cond := meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionMaintenance)
			g.Expect(cond.Reason).To(Equal(v1alpha1.ReasonMaintenanceWindow))
			g.Expect(cond.Message).To(And(ContainSubstring("db-move"), ContainSubstring("Moving the database"),
				ContainSubstring(data+"/db"), Not(ContainSubstring("reindex"))))
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) []string { return eventsOf(g, ns, "shop") }, timeout, interval).Should(
			ContainElement("Normal/" + EventMaintenanceWindowStarted))

		By("a bare name is a Service of the window's namespace, not the other namespace's db")
		createWindow(ns, "bare-db", nil, active("db"))
		Consistently(func(g Gomega) string {
			return windowsOfEntries(statusOf(ns, "shop")(g))[data+"/db"]
		}, time.Second, interval).Should(Equal("db-move"))

		By("ending the maintenance when the window is deleted")
		Expect(k8sClient.Delete(ctx(), move)).To(Succeed())
		Eventually(func(g Gomega) {
			c := statusOf(ns, "shop")(g)
			g.Expect(c.Status.Maintenance).To(BeFalse())
			g.Expect(windowsOfEntries(c)[data+"/db"]).To(BeEmpty())
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) []string { return eventsOf(g, ns, "shop") }, timeout, interval).Should(
			ContainElement("Normal/" + EventMaintenanceWindowEnded))
		Eventually(func() float64 { return windowActive(ns, "db-move") }, timeout, interval).Should(Equal(-1.0))
	})

	It("makes a window with minute 61 or an unknown zone Invalid, with a Warning Event and no effect", func() {
		ns := createNamespace()
		createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api", Critical: true})
		hour := &metav1.Duration{Duration: time.Hour}
		createWindow(ns, "minute-61", nil, v1alpha1.MaintenanceWindowSpec{Checkers: []string{"shop"},
			Schedule: "61 3 * * *", Duration: hour})
		// Every minute for an hour: always active, were the zone known.
		zone := createWindow(ns, "mars", nil, v1alpha1.MaintenanceWindowSpec{Checkers: []string{"shop"},
			Schedule: "* * * * *", TimeZone: "Mars/Olympus", Duration: hour})

		for name, want := range map[string]struct{ reason, field string }{
			"minute-61": {v1alpha1.ReasonInvalidSchedule, "spec.schedule"},
			"mars":      {v1alpha1.ReasonUnknownTimeZone, "spec.timeZone"},
		} {
			Eventually(func(g Gomega) {
				w := windowOf(g, ns, name)
				g.Expect(w.Status.Phase).To(Equal(v1alpha1.PhaseInvalid))
				g.Expect(w.Status.Next).To(BeEmpty())
				g.Expect(w.Status.Start).To(BeNil())
				c := meta.FindStatusCondition(w.Status.Conditions, v1alpha1.ConditionValid)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(want.reason))
				g.Expect(c.Message).To(ContainSubstring(want.field))
				g.Expect(c.ObservedGeneration).To(Equal(w.Generation))
			}, timeout, interval).Should(Succeed(), name)
			Eventually(func(g Gomega) []string { return eventsOf(g, ns, name) }, timeout, interval).Should(
				Equal([]string{"Warning/" + want.reason}), name)
			Eventually(func() float64 { return windowActive(ns, name) }, timeout, interval).Should(Equal(0.0))
		}
		Consistently(func(g Gomega) {
			c := statusOf(ns, "shop")(g)
			g.Expect(c.Status.Maintenance).To(BeFalse())
			g.Expect(windowsOfEntries(c)).To(Equal(map[string]string{ns + "/api": ""}))
		}, time.Second, interval).Should(Succeed())

		By("taking effect once the zone is fixed")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8sClient.Get(ctx(), client.ObjectKeyFromObject(zone), zone); err != nil {
				return err
			}
			zone.Spec.TimeZone = "Europe/Berlin"
			return k8sClient.Update(ctx(), zone)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			w := windowOf(g, ns, "mars")
			g.Expect(w.Status.Phase).To(Equal(v1alpha1.PhaseActive))
			g.Expect(meta.IsStatusConditionTrue(w.Status.Conditions, v1alpha1.ConditionValid)).To(BeTrue())
			g.Expect(statusOf(ns, "shop")(g).Status.Maintenance).To(BeTrue())
		}, timeout, interval).Should(Succeed())
	})

	It("gives a suspended window no effect, and its effect back when resumed", func() {
		ns := createNamespace()
		createService(ns, "api")
		createSlice(ns, "api", "api-1", true)
		createChecker(ns, "shop", v1alpha1.ServiceRef{Name: "api"})
		w := createWindow(ns, "paused", nil, v1alpha1.MaintenanceWindowSpec{Checkers: []string{"shop"},
			Start: ptr.To(metav1.NewTime(testClock.Now().Add(-time.Minute))), Suspend: true})
		Eventually(func(g Gomega) {
			got := windowOf(g, ns, "paused")
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseSuspended))
			g.Expect(got.Status.Current).To(BeNil())
			g.Expect(got.Status.Next).To(BeEmpty())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionValid)).To(BeTrue())
		}, timeout, interval).Should(Succeed())
		Consistently(func(g Gomega) bool {
			return statusOf(ns, "shop")(g).Status.Maintenance
		}, time.Second, interval).Should(BeFalse())

		setSuspend := func(suspend bool) {
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w); err != nil {
					return err
				}
				w.Spec.Suspend = suspend
				return k8sClient.Update(ctx(), w)
			})).To(Succeed())
		}
		By("resuming: an open-ended window, active from its start")
		setSuspend(false)
		Eventually(func(g Gomega) {
			got := windowOf(g, ns, "paused")
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseActive))
			g.Expect(got.Status.Current.End).To(BeNil())
			g.Expect(got.Status.End).To(BeNil())
			c := statusOf(ns, "shop")(g)
			g.Expect(c.Status.Maintenance).To(BeTrue())
			g.Expect(meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionMaintenance).Reason).
				To(Equal(v1alpha1.ReasonMaintenanceWindow))
		}, timeout, interval).Should(Succeed())

		By("suspending again: the effect ends at once")
		setSuspend(true)
		Eventually(func(g Gomega) {
			g.Expect(windowOf(g, ns, "paused").Status.Phase).To(Equal(v1alpha1.PhaseSuspended))
			g.Expect(statusOf(ns, "shop")(g).Status.Maintenance).To(BeFalse())
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) []string { return eventsOf(g, ns, "shop") }, timeout, interval).Should(ContainElements(
			"Normal/"+EventMaintenanceWindowStarted, "Normal/"+EventMaintenanceWindowEnded))
	})
})
