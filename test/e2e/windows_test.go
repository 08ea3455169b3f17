package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// windowFlow registers the MaintenanceWindow specs of one installation, on the ServiceChecker shop/storefront
// (checkout critical, recommendations and search not, all ready) that flow creates; mgr is flow's manager. The
// manager runs on the real clock, so the one-off window starts and ends by itself, and the specs measure how long
// after each boundary kubectl and the API show it. Every window is deleted at the end of its spec.
func windowFlow(shop string, mgr func() *manager) {
	checker := shop + "/storefront"

	It("takes a one-off window Scheduled -> Active -> Completed, the API following within a second of each boundary",
		func() {
			m := mgr()
			// Whole seconds, as RFC 3339 in the spec carries them: 3 to 4 s ahead, then 3 s long.
			start := time.Now().Truncate(time.Second).Add(4 * time.Second)
			end := start.Add(3 * time.Second)
			var phases, statuses *sampler
			timed(shop+": one-off window Scheduled -> Active -> Completed (kubectl get mwin, /status every 50 ms)", func() {
				phases = startSampler(50*time.Millisecond, func() (string, error) {
					out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "get", "mwin", "-n", shop).CombinedOutput()
					return string(out), err
				})
				defer phases.stop()
				statuses = startSampler(50*time.Millisecond, func() (string, error) {
					return m.fetch("/status?checker=" + checker)
				})
				defer statuses.stop()
				createWindow(shop, "db-upgrade", v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
					Title: "Database upgrade", Message: "Checkout is paused while we upgrade the database.",
					Start: ptr.To(metav1.NewTime(start)), End: ptr.To(metav1.NewTime(end))})
				Eventually(func() bool {
					p, s := phases.samples(), statuses.samples()
					return after(p, phaseIs(v1alpha1.PhaseActive), phaseIs(v1alpha1.PhaseCompleted)) &&
						after(s, inMaintenance(true), inMaintenance(false))
				}).WithTimeout(time.Until(end) + 10*time.Second).WithPolling(100 * time.Millisecond).Should(BeTrue())
			})

			p, s := phases.samples(), statuses.samples()
			for _, x := range p {
				Expect(x.err).NotTo(HaveOccurred(), x.out)
			}
			for _, x := range s {
				Expect(x.err).NotTo(HaveOccurred(), x.out)
			}
			// The first sample showing each state, each after the previous one.
			scheduled := first(p, 0, phaseIs(v1alpha1.PhaseScheduled))
			Expect(scheduled).To(BeNumerically(">=", 0), "kubectl never showed the window Scheduled")
			Expect(p[scheduled].received.Before(start)).To(BeTrue(), "the window was not Scheduled before its start")
			active := first(p, scheduled, phaseIs(v1alpha1.PhaseActive))
			completed := first(p, active, phaseIs(v1alpha1.PhaseCompleted))
			Expect(active).To(BeNumerically(">", scheduled))
			Expect(completed).To(BeNumerically(">", active))
			for i, x := range p[scheduled:completed] {
				want := phaseIs(v1alpha1.PhaseScheduled)
				if scheduled+i >= active {
					want = phaseIs(v1alpha1.PhaseActive)
				}
				Expect(want(x.out)).To(BeTrue(), "kubectl showed an unexpected phase:\n%s", x.out)
			}

			announced := first(s, 0, func(out string) bool {
				return !inMaintenance(true)(out) && slices.Contains(windowNames(out, "upcoming"), shop+"/db-upgrade")
			})
			Expect(announced).To(BeNumerically(">=", 0), "/status never listed the window as upcoming")
			Expect(s[announced].received.Before(start)).To(BeTrue())
			on := first(s, announced, inMaintenance(true))
			off := first(s, on, inMaintenance(false))
			Expect(on).To(BeNumerically(">", announced))
			Expect(off).To(BeNumerically(">", on))
			for _, x := range s[:on] {
				Expect(inMaintenance(false)(x.out)).To(BeTrue(), "/status in maintenance before the window:\n%s", x.out)
			}
			Expect(windowNames(s[on].out, "active")).To(ConsistOf(shop + "/db-upgrade"))
			Expect(windowNames(s[on].out, "upcoming")).To(BeEmpty())
			Expect(windowNames(s[off].out, "active")).To(BeEmpty())
			Expect(windowNames(s[off].out, "upcoming")).To(BeEmpty())

			// A change happened after the last sample that did not show it was sent, and before the first that
			// showed it came back: the delay is at most "seen" and above "previous".
			type change struct {
				what     string
				boundary time.Time
				samples  []sample
				at       int
			}
			changes := []change{
				{"kubectl get mwin: PHASE Scheduled -> Active", start, p, active},
				{"GET /status?checker=" + checker + ": maintenance false -> true", start, s, on},
				{"kubectl get mwin: PHASE Active -> Completed", end, p, completed},
				{"GET /status?checker=" + checker + ": maintenance true -> false", end, s, off},
			}
			var table strings.Builder
			fmt.Fprintf(&table, "window %s/db-upgrade: start %s, end %s (UTC)\n", shop, start.UTC().Format(time.TimeOnly),
				end.UTC().Format(time.TimeOnly))
			fmt.Fprintf(&table, "%-64s %-9s %-14s %-10s %s\n", "change", "boundary", "seen at", "delay", "last old sample sent")
			for _, c := range changes {
				seen := c.samples[c.at].received
				prev := c.samples[c.at-1].sent
				fmt.Fprintf(&table, "%-64s %-9s %-14s %-10s %+.3fs\n", c.what, boundaryName(c.boundary, start),
					seen.UTC().Format("15:04:05.000"), fmt.Sprintf("<= %.3fs", seen.Sub(c.boundary).Seconds()),
					prev.Sub(c.boundary).Seconds())
			}
			fmt.Fprintf(&table, "kubectl sampled every %s on average, /status every %s", meanGap(p), meanGap(s))
			AddReportEntry(shop+": one-off window, delay between each boundary and the change", table.String())

			var transcript strings.Builder
			for _, i := range []int{scheduled, active, completed} {
				fmt.Fprintf(&transcript, "$ kubectl get mwin -n %s    # at %s\n%s\n", shop,
					p[i].received.UTC().Format("15:04:05.000"), strings.TrimRight(p[i].out, "\n"))
			}
			AddReportEntry(shop+": kubectl get mwin at each phase", transcript.String())
			var bodies strings.Builder
			for _, i := range []int{announced, on, off} {
				fmt.Fprintf(&bodies, "GET /status?checker=%s    # at %s\n%s\n", checker,
					s[i].received.UTC().Format("15:04:05.000"), indent(s[i].out))
			}
			AddReportEntry(shop+": /status before, during and after the window", bodies.String())

			for _, c := range changes {
				delay := c.samples[c.at].received.Sub(c.boundary)
				Expect(c.samples[c.at].received.After(c.boundary)).To(BeTrue(), "%s before its boundary", c.what)
				Expect(delay).To(BeNumerically("<=", time.Second), "%s: seen %v after its boundary", c.what, delay)
			}

			By("recording MaintenanceWindowStarted and MaintenanceWindowEnded on the ServiceChecker")
			Eventually(func(g Gomega) []string { return eventsAbout(g, shop, "storefront") }).
				WithTimeout(5 * time.Second).Should(ContainElements("Normal/MaintenanceWindowStarted",
				"Normal/MaintenanceWindowEnded"))
			w := windowOf(Default, shop, "db-upgrade")
			Expect(w.Status.Start.Time.Equal(start) && w.Status.End.Time.Equal(end)).To(BeTrue(),
				"a Completed window keeps its occurrence in start and end")
		})

	It("lists a weekly Europe/Berlin window's next occurrences in UTC, in its status and GET /windows", func() {
		m := mgr()
		berlin, err := time.LoadLocation("Europe/Berlin")
		Expect(err).NotTo(HaveOccurred())
		timed(shop+": weekly window in Europe/Berlin (status.next, kubectl, GET /windows)", func() {
			createWindow(shop, "weekly", v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
				Title: "Weekly patching", Schedule: "0 3 * * 0", TimeZone: "Europe/Berlin",
				Duration: &metav1.Duration{Duration: 30 * time.Minute}})
			var w *v1alpha1.MaintenanceWindow
			var want []string
			var phase v1alpha1.MaintenanceWindowPhase
			Eventually(func(g Gomega) {
				w = windowOf(g, shop, "weekly")
				g.Expect(w.Status.ObservedGeneration).To(Equal(w.Generation))
				current, next := sundaysAt3(time.Now(), berlin)
				phase = v1alpha1.PhaseScheduled
				if current {
					phase = v1alpha1.PhaseActive // it is Sunday between 03:00 and 03:30 in Berlin
				}
				want = next
				g.Expect(w.Status.Phase).To(Equal(phase))
				g.Expect(occurrenceStrings(w.Status.Next)).To(Equal(want))
			}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
			Expect(meta.IsStatusConditionTrue(w.Status.Conditions, v1alpha1.ConditionValid)).To(BeTrue())

			var listed []snapshot.Window
			Eventually(func(g Gomega) {
				listed = nil
				m.get(g, "/windows?checker="+checker, &listed)
				g.Expect(listed).To(ContainElement(And(HaveField("Name", shop+"/weekly"),
					HaveField("Phase", string(phase)), HaveField("Title", "Weekly patching"),
					HaveField("Checkers", Equal([]string{checker})), HaveField("Services", BeEmpty()))))
				for _, l := range listed {
					if l.Name == shop+"/weekly" {
						got := make([]string, 0, len(l.Next))
						for _, o := range l.Next {
							got = append(got, o.Start.UTC().Format(time.RFC3339)+"/"+o.End.UTC().Format(time.RFC3339))
						}
						g.Expect(got).To(Equal(want))
					}
				}
			}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
			out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "get", "mwin", "weekly", "-n", shop,
				"-o", "wide").CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			Expect(string(out)).To(ContainSubstring(strings.Split(want[0], "/")[0]))
			local := make([]string, 0, len(want))
			for _, o := range want {
				t, err := time.Parse(time.RFC3339, strings.Split(o, "/")[0])
				Expect(err).NotTo(HaveOccurred())
				local = append(local, t.In(berlin).Format("Mon 2006-01-02 15:04 MST"))
			}
			body, err := m.fetch("/windows?checker=" + checker)
			Expect(err).NotTo(HaveOccurred())
			AddReportEntry(shop+": weekly window \"0 3 * * 0\" in Europe/Berlin", fmt.Sprintf(
				"status.next (UTC): %s\nthe same in Berlin: %s\n$ kubectl get mwin weekly -n %s -o wide\n%s"+
					"GET /windows?checker=%s\n%s", strings.Join(want, ", "), strings.Join(local, ", "), shop, out,
				checker, indent(body)))
		})
	})

	It("covers only the listed Service: its entry names the window, the ServiceChecker stays out of maintenance",
		func() {
			m := mgr()
			timed(shop+": window on search only (not critical): entry window, /status maintenance false", func() {
				w := createWindow(shop, "reindex", v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
					Services: []string{"search"}, Title: "Search reindex",
					Start: ptr.To(metav1.NewTime(time.Now().Add(-time.Minute))), Duration: &metav1.Duration{Duration: 10 * time.Minute}})
				Eventually(func(g Gomega) {
					search := m.entry(g, shop, "search")
					g.Expect(search.Window).To(Equal(shop + "/reindex"))
					g.Expect(search.Maintenance).To(BeTrue())
					g.Expect(search.Ready).To(BeTrue(), "readiness stays truthful")
					for _, other := range []string{"checkout", "recommendations"} {
						e := m.entry(g, shop, other)
						g.Expect(e.Window).To(BeEmpty(), other)
						g.Expect(e.Maintenance).To(BeFalse(), other)
					}
				}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
				status := m.summary(Default, checker)
				Expect(status.Windows.Active).To(ContainElement(And(HaveField("Name", shop+"/reindex"),
					HaveField("Services", Equal([]string{shop + "/search"})))))
				Consistently(func(g Gomega) bool { return m.summary(g, checker).Maintenance }).
					WithTimeout(time.Second).WithPolling(100 * time.Millisecond).Should(BeFalse())
				sc := &v1alpha1.ServiceChecker{}
				Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: shop, Name: "storefront"}, sc)).To(Succeed())
				Expect(sc.Status.Maintenance).To(BeFalse())
				Expect(entryWindows(sc)).To(Equal(map[string]string{shop + "/checkout": "", shop + "/recommendations": "",
					shop + "/search": "reindex"}))

				Expect(k8sClient.Delete(ctx(), w)).To(Succeed())
				Eventually(func(g Gomega) {
					g.Expect(m.entry(g, shop, "search").Window).To(BeEmpty())
					g.Expect(m.summary(g, checker).Windows.Active).To(BeEmpty())
				}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
			})
		})

	It("makes a window with minute 61 or an unknown zone Invalid, with a Warning Event and no effect", func() {
		m := mgr()
		timed(shop+": invalid windows (minute 61, unknown zone): Invalid, Warning Event, no effect", func() {
			half := &metav1.Duration{Duration: 30 * time.Minute}
			createWindow(shop, "minute-61", v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
				Schedule: "61 * * * *", Duration: half})
			// Every minute for half an hour: always active, were the zone known.
			createWindow(shop, "mars", v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
				Schedule: "* * * * *", TimeZone: "Mars/Olympus", Duration: half})
			for name, want := range map[string]struct{ reason, field string }{
				"minute-61": {v1alpha1.ReasonInvalidSchedule, "spec.schedule"},
				"mars":      {v1alpha1.ReasonUnknownTimeZone, "spec.timeZone"},
			} {
				Eventually(func(g Gomega) {
					w := windowOf(g, shop, name)
					g.Expect(w.Status.Phase).To(Equal(v1alpha1.PhaseInvalid))
					g.Expect(w.Status.Next).To(BeEmpty())
					c := meta.FindStatusCondition(w.Status.Conditions, v1alpha1.ConditionValid)
					g.Expect(c).NotTo(BeNil())
					g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
					g.Expect(c.Reason).To(Equal(want.reason))
					g.Expect(c.Message).To(ContainSubstring(want.field))
				}).WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).Should(Succeed(), name)
				Eventually(func(g Gomega) []string { return eventsAbout(g, shop, name) }).
					WithTimeout(10*time.Second).Should(ContainElement("Warning/"+want.reason), name)
			}
			Eventually(func(g Gomega) {
				var listed []snapshot.Window
				m.get(g, "/windows?namespace="+shop, &listed)
				g.Expect(listed).To(ContainElements(
					And(HaveField("Name", shop+"/minute-61"), HaveField("Phase", "Invalid"), HaveField("Current", BeNil()),
						HaveField("Next", BeEmpty())),
					And(HaveField("Name", shop+"/mars"), HaveField("Phase", "Invalid"), HaveField("Current", BeNil()))))
			}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
			expectNoWindowEffect(m, shop)
			out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "get", "mwin", "-n", shop).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			AddReportEntry(shop+": invalid windows", fmt.Sprintf("$ kubectl get mwin -n %s\n%s", shop, out))
		})
	})

	It("gives a suspended window no effect, and its effect once resumed", func() {
		m := mgr()
		timed(shop+": suspended window (Suspended, no effect; resumed: Active, maintenance)", func() {
			w := createWindow(shop, "paused", v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"},
				Title: "Paused", Start: ptr.To(metav1.NewTime(time.Now().Add(-time.Minute))),
				Duration: &metav1.Duration{Duration: 10 * time.Minute}, Suspend: true})
			Eventually(func(g Gomega) {
				got := windowOf(g, shop, "paused")
				g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseSuspended))
				g.Expect(got.Status.Current).To(BeNil())
				var listed []snapshot.Window
				m.get(g, "/windows?checker="+checker, &listed)
				g.Expect(listed).To(ContainElement(And(HaveField("Name", shop+"/paused"), HaveField("Phase", "Suspended"))))
			}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
			expectNoWindowEffect(m, shop)

			By("resuming it: Active, the ServiceChecker in maintenance")
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w); err != nil {
					return err
				}
				w.Spec.Suspend = false
				return k8sClient.Update(ctx(), w)
			})).To(Succeed())
			Eventually(func(g Gomega) {
				status := m.summary(g, checker)
				g.Expect(status.Maintenance).To(BeTrue())
				g.Expect(status.Windows.Active).To(ContainElement(HaveField("Name", shop+"/paused")))
			}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
			Expect(k8sClient.Delete(ctx(), w)).To(Succeed())
			Eventually(func(g Gomega) bool { return m.summary(g, checker).Maintenance }).
				WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(BeFalse())
		})
	})
}

// expectNoWindowEffect checks for a second that no window of the namespace has any effect on shop/storefront: not
// in maintenance, no active window, no entry covered (API and ServiceChecker status).
func expectNoWindowEffect(m *manager, shop string) {
	GinkgoHelper()
	Consistently(func(g Gomega) {
		status := m.summary(g, shop+"/storefront")
		g.Expect(status.Maintenance).To(BeFalse())
		g.Expect(status.Windows.Active).To(BeEmpty())
		g.Expect(status.Windows.Upcoming).To(BeEmpty())
		for _, e := range m.services(g) {
			g.Expect(e.Window).To(BeEmpty(), e.Key())
		}
		sc := &v1alpha1.ServiceChecker{}
		g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: shop, Name: "storefront"}, sc)).To(Succeed())
		g.Expect(sc.Status.Maintenance).To(BeFalse())
		for _, w := range entryWindows(sc) {
			g.Expect(w).To(BeEmpty())
		}
	}).WithTimeout(time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
}

// createWindow creates a MaintenanceWindow, deleted again at the end of the spec.
func createWindow(ns, name string, spec v1alpha1.MaintenanceWindowSpec) *v1alpha1.MaintenanceWindow {
	GinkgoHelper()
	w := &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	Expect(k8sClient.Create(ctx(), w)).To(Succeed())
	DeferCleanup(func() {
		_ = k8sClient.Delete(ctx(), &v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	})
	return w
}

func windowOf(g Gomega, ns, name string) *v1alpha1.MaintenanceWindow {
	w := &v1alpha1.MaintenanceWindow{}
	g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, w)).To(Succeed())
	return w
}

// entryWindows maps each entry of a ServiceChecker's status to the window covering it ("" for none).
func entryWindows(sc *v1alpha1.ServiceChecker) map[string]string {
	out := map[string]string{}
	for _, e := range sc.Status.ServiceStatuses {
		out[e.Namespace+"/"+e.Name] = e.MaintenanceWindow
	}
	return out
}

// eventsAbout lists the events.k8s.io Events regarding the object ns/name as "Type/Reason".
func eventsAbout(g Gomega, ns, name string) []string {
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

// sundaysAt3 computes, independently of the operator, the occurrences of "0 3 * * 0" in loc lasting 30 minutes:
// whether one is under way at now, and the next 3 that start after now, as "start/end" in UTC.
func sundaysAt3(now time.Time, loc *time.Location) (current bool, next []string) {
	local := now.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day()-7, 0, 0, 0, 0, loc)
	for i := 0; len(next) < 3; i++ {
		d := day.AddDate(0, 0, i)
		if d.Weekday() != time.Sunday {
			continue
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), 3, 0, 0, 0, loc)
		end := start.Add(30 * time.Minute)
		switch {
		case start.After(now):
			next = append(next, start.UTC().Format(time.RFC3339)+"/"+end.UTC().Format(time.RFC3339))
		case now.Before(end):
			current = true
		}
	}
	return current, next
}

func occurrenceStrings(list []v1alpha1.Occurrence) []string {
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

// fetch is GET path as text, for samplers and reports: an answer other than 200 is an error.
func (m *manager) fetch(path string) (string, error) {
	resp, err := m.client.Get(m.apiURL + path)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(body), nil
}

// summary is GET /status?checker=checker.
func (m *manager) summary(g Gomega, checker string) snapshot.Summary {
	var s snapshot.Summary
	m.get(g, "/status?checker="+checker, &s)
	return s
}

// sample is one answer of a sampler: what was asked when, and what came back when.
type sample struct {
	sent, received time.Time
	out            string
	err            error
}

// sampler asks something again and again, pausing between answers, and keeps every answer with its times.
type sampler struct {
	mu   sync.Mutex
	all  []sample
	quit chan struct{}
	wg   sync.WaitGroup
}

func startSampler(pause time.Duration, ask func() (string, error)) *sampler {
	s := &sampler{quit: make(chan struct{})}
	s.wg.Go(func() { // no Gomega here: the spec judges the samples
		for {
			sent := time.Now()
			out, err := ask()
			received := time.Now()
			s.mu.Lock()
			s.all = append(s.all, sample{sent: sent, received: received, out: out, err: err})
			s.mu.Unlock()
			select {
			case <-s.quit:
				return
			case <-time.After(pause):
			}
		}
	})
	return s
}

func (s *sampler) stop() {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	s.wg.Wait()
}

func (s *sampler) samples() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

// first is the index of the first sample from index from on whose output holds, -1 for none.
func first(samples []sample, from int, holds func(string) bool) int {
	if from < 0 {
		return -1
	}
	for i := from; i < len(samples); i++ {
		if samples[i].err == nil && holds(samples[i].out) {
			return i
		}
	}
	return -1
}

// after reports whether a sample where then holds comes after one where before holds.
func after(samples []sample, before, then func(string) bool) bool {
	i := first(samples, 0, before)
	return i >= 0 && first(samples, i+1, then) > i
}

func meanGap(samples []sample) time.Duration {
	if len(samples) < 2 {
		return 0
	}
	return (samples[len(samples)-1].received.Sub(samples[0].received) / time.Duration(len(samples)-1)).
		Round(time.Millisecond)
}

// phaseIs reads the PHASE column of the one-off window db-upgrade in `kubectl get mwin` output.
func phaseIs(phase v1alpha1.MaintenanceWindowPhase) func(string) bool {
	return func(out string) bool {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "db-upgrade" {
				return f[1] == string(phase)
			}
		}
		return false
	}
}

// inMaintenance reads "maintenance" of a /status answer.
func inMaintenance(want bool) func(string) bool {
	return func(out string) bool {
		var s snapshot.Summary
		return json.Unmarshal([]byte(out), &s) == nil && s.Maintenance == want
	}
}

// windowNames lists the names of a /status answer's active or upcoming windows.
func windowNames(out, which string) []string {
	var s snapshot.Summary
	if json.Unmarshal([]byte(out), &s) != nil {
		return nil
	}
	list := s.Windows.Active
	if which == "upcoming" {
		list = s.Windows.Upcoming
	}
	names := make([]string, 0, len(list))
	for _, w := range list {
		names = append(names, w.Name)
	}
	return names
}

func boundaryName(t, start time.Time) string {
	if t.Equal(start) {
		return "start"
	}
	return "end"
}

func indent(body string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(body), "", "  ") != nil {
		return body
	}
	return b.String()
}
