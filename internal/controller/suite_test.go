package controller

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/httpapi"
	"github.com/mamrezb/maintenance-window-manager/internal/localcluster"
	"github.com/mamrezb/maintenance-window-manager/internal/readinessmetrics"
	"github.com/mamrezb/maintenance-window-manager/internal/tenancy"
)

// The suite runs the reconciler in a real manager against a real kube-apiserver and etcd (envtest), built
// from source by `make controlplane` into bin/k8s.
var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	// leaderAPI and followerAPI are the API servers of the leader and of a replica without leadership.
	leaderAPI, followerAPI *httpapi.Server
	follower               ctrl.Manager
	testClock              *clocktesting.FakePassiveClock
	registry               *prometheus.Registry
	cancel                 context.CancelFunc
	// denyingReads records what the manager run with --no-cross-namespace-refs reads (tenancy_test.go).
	denyingReads *readRecorder
)

// denyLabel marks the ServiceCheckers reconciled by the manager run with --no-cross-namespace-refs; the leader and
// the follower ignore them, so that two reconcilers never write the same status.
const denyLabel = "test.mamrezb.com/no-cross-namespace-refs"

func TestController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		Fail("KUBEBUILDER_ASSETS is not set: run `make test`, which builds kube-apiserver and etcd into bin/k8s, " +
			"or export KUBEBUILDER_ASSETS=$PWD/bin/k8s after `make controlplane`")
	}

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(gatewayv1beta1.Install(scheme)).To(Succeed())

	// Gateway API's ReferenceGrant CRD, from the module the manager's Go types come from.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	Expect(err).NotTo(HaveOccurred(), "locate the sigs.k8s.io/gateway-api module (go list -m)")
	referenceGrantCRD := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard",
		"gateway.networking.k8s.io_referencegrants.yaml")

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases"), referenceGrantCRD},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	// The Service range of every suite and of run-local (localcluster.DefaultServiceIPRange).
	testEnv.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", localcluster.DefaultServiceIPRange)
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	testClock = clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	registry = prometheus.NewRegistry()

	// The leader reconciles and serves the API; the follower, started once the leader holds the lease, only serves
	// the API, from its own cache.
	var leader ctrl.Manager
	leader, leaderAPI = startManager(ctx, cfg, scheme, registry)
	Eventually(leader.Elected(), 20*time.Second).Should(BeClosed())
	follower, followerAPI = startManager(ctx, cfg, scheme, prometheus.NewRegistry())
	denyingReads = startDenyingManager(ctx, cfg, scheme)
	startRealClockManager(ctx, cfg, scheme)
})

// startManager runs a manager with leader election, the ServiceChecker and MaintenanceWindow controllers and the
// API (on a free port), with metrics in reg. It ignores the ServiceCheckers labelled denyLabel, and the
// ServiceCheckers and MaintenanceWindows labelled realClockLabel.
func startManager(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme,
	reg *prometheus.Registry) (ctrl.Manager, *httpapi.Server) {
	notDenying, err := labels.Parse("!" + denyLabel + ",!" + realClockLabel)
	Expect(err).NotTo(HaveOccurred())
	notRealClock, err := labels.Parse("!" + realClockLabel)
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		LeaderElection:          true,
		LeaderElectionID:        "maintenance-window-manager-test",
		LeaderElectionNamespace: "default",
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{&v1alpha1.ServiceChecker{}: {Label: notDenying},
				&v1alpha1.MaintenanceWindow{}: {Label: notRealClock}}},
		// Several managers in one process register the same controller name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	reconciler := &ServiceCheckerReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("maintenance-window-manager"),
		Metrics:  readinessmetrics.New(reg),
		Clock:    testClock,
	}
	Expect(reconciler.SetupWithManager(ctx, mgr)).To(Succeed())
	windowReconciler := &MaintenanceWindowReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("maintenance-window-manager"),
		Metrics:  NewWindowMetrics(reg),
		Clock:    testClock,
	}
	Expect(windowReconciler.SetupWithManager(ctx, mgr)).To(Succeed())
	api, err := httpapi.Setup(mgr, httpapi.ServerOptions{BindAddress: "127.0.0.1:0"})
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Eventually(api.Addr, 10*time.Second).ShouldNot(BeNil())
	return mgr, api
}

// startDenyingManager runs the ServiceChecker controller as the manager does with --no-cross-namespace-refs, for
// the ServiceCheckers labelled denyLabel only, without leader election, and returns the recorder of its reads.
func startDenyingManager(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) *readRecorder {
	denying, err := labels.Parse(denyLabel)
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{&v1alpha1.ServiceChecker{}: {Label: denying}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	reads := &readRecorder{Client: mgr.GetClient()}
	reconciler := &ServiceCheckerReconciler{
		Client:   reads,
		Recorder: mgr.GetEventRecorder("maintenance-window-manager"),
		Metrics:  readinessmetrics.New(prometheus.NewRegistry()),
		Clock:    testClock,
		Tenancy:  tenancy.Policy{DenyCrossNamespace: true},
	}
	Expect(reconciler.SetupWithManager(ctx, mgr)).To(Succeed())
	Expect(reconciler.Tenancy.GrantsInstalled).To(BeTrue(), "the suite installs the ReferenceGrant CRD")
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	Eventually(func() bool { return mgr.GetCache().WaitForCacheSync(ctx) }, 10*time.Second).Should(BeTrue())
	return reads
}

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

func ctx() context.Context { return context.Background() }

// metricValue returns the value of the series of name with exactly these label values (in the metric's label
// order), or -1 when the series does not exist.
func metricValue(name string, labelValues ...string) float64 {
	families, err := registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			want := []string{"namespace", "service", "checker_namespace", "checker", "critical"}
			for i, v := range labelValues {
				if got[want[i]] != v {
					continue series
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}
