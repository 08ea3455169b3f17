package faults

import (
	"context"
	"fmt"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

const (
	// systemNamespace holds the leader election Lease.
	systemNamespace = "faults-system"
	leaseName       = "maintenance-window-manager.mamrezb.com"
	// appNamespace holds the ServiceChecker storefront of one critical Service, checkout, whose readiness the
	// failure scenarios flip.
	appNamespace = "faults"
	checker      = appNamespace + "/storefront"
	// The load scenario's world: loadServices Services in loadNamespaces namespaces, loadCheckers ServiceCheckers
	// of loadServices/loadCheckers Services each; flipService (critical in flipChecker) flips every second.
	loadNamespaces = 10
	loadServices   = 1000
	loadCheckers   = 10
	flipNamespace  = "load-0"
	flipService    = "svc-0"
	flipChecker    = flipNamespace + "/checker-0"
)

func loadNamespace(i int) string { return fmt.Sprintf("load-%d", i%loadNamespaces) }
func loadService(i int) string   { return fmt.Sprintf("svc-%d", i) }

// createWorld makes the namespaces, Services, EndpointSlices (every endpoint ready) and ServiceCheckers.
func createWorld(ctx context.Context) error {
	for _, ns := range []string{systemNamespace, appNamespace} {
		if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	for i := range loadNamespaces {
		if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: loadNamespace(i)}}); err != nil {
			return err
		}
	}
	if err := createService(ctx, appNamespace, "checkout"); err != nil {
		return err
	}
	if err := k8sClient.Create(ctx, &v1alpha1.ServiceChecker{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "storefront"},
		Spec:       v1alpha1.ServiceCheckerSpec{Services: []v1alpha1.ServiceRef{{Name: "checkout", Critical: true}}},
	}); err != nil {
		return err
	}
	if err := testutil.Parallel(loadServices, func(i int) error { return createService(ctx, loadNamespace(i), loadService(i)) }); err != nil {
		return err
	}
	per := loadServices / loadCheckers
	return testutil.Parallel(loadCheckers, func(k int) error {
		sc := &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: loadNamespace(k), Name: fmt.Sprintf("checker-%d", k)}}
		for i := k * per; i < (k+1)*per; i++ {
			sc.Spec.Services = append(sc.Spec.Services, v1alpha1.ServiceRef{Name: loadService(i), Namespace: loadNamespace(i),
				Critical: loadNamespace(i) == flipNamespace && loadService(i) == flipService})
		}
		return k8sClient.Create(ctx, sc)
	})
}

// createService makes Service ns/name and its EndpointSlice of two ready endpoints.
func createService(ctx context.Context, ns, name string) error {
	if err := k8sClient.Create(ctx, testutil.Service(ns, name)); err != nil {
		return fmt.Errorf("create Service %s/%s: %w", ns, name, err)
	}
	if err := k8sClient.Create(ctx, testutil.EndpointSlice(ns, name, 2, true)); err != nil {
		return fmt.Errorf("create the EndpointSlice of %s/%s: %w", ns, name, err)
	}
	return nil
}

// setReady makes every endpoint of Service ns/name ready or not, straight on kube-apiserver (not through the proxy,
// so it works during an outage of the managers' connection).
func setReady(ns, name string, ready bool) {
	var slice discoveryv1.EndpointSlice
	ExpectWithOffset(1, k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: name + "-1"}, &slice)).To(Succeed())
	slice.Endpoints = testutil.EndpointSlice(ns, name, 2, ready).Endpoints
	ExpectWithOffset(1, k8sClient.Update(ctx(), &slice)).To(Succeed())
}

// isReady reports whether the endpoints of Service ns/name are ready, as kube-apiserver has them now.
func isReady(ns, name string) bool {
	var slice discoveryv1.EndpointSlice
	ExpectWithOffset(1, k8sClient.Get(ctx(), types.NamespacedName{Namespace: ns, Name: name + "-1"}, &slice)).To(Succeed())
	return ptr.Deref(slice.Endpoints[0].Conditions.Ready, false)
}

// holder is the Lease's holderIdentity ("" when released or not taken yet).
func holder() (string, error) {
	var lease coordinationv1.Lease
	if err := k8sClient.Get(ctx(), client.ObjectKey{Namespace: systemNamespace, Name: leaseName}, &lease); err != nil {
		return "", err
	}
	return ptr.Deref(lease.Spec.HolderIdentity, ""), nil
}
