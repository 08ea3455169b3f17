package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// world is a set of Services with one EndpointSlice of two ready endpoints each, spread over namespaces.
type world struct {
	prefix     string
	namespaces int
	services   int
}

func (w world) namespace(i int) string { return fmt.Sprintf("%s-%d", w.prefix, i%w.namespaces) }
func (w world) service(i int) string   { return fmt.Sprintf("svc-%d", i) }

// create makes the namespaces, and the Services and EndpointSlices from index `from` on (the ones before exist
// already: the scale section grows the 1,000-Service world to 10,000), with 32 concurrent writers.
func (w world) create(ctx context.Context, c client.Client, from int) error {
	for n := range w.namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.namespace(n)}}
		if err := client.IgnoreAlreadyExists(c.Create(ctx, ns)); err != nil {
			return err
		}
	}
	return testutil.Parallel(w.services-from, func(i int) error {
		ns, name := w.namespace(from+i), w.service(from+i)
		if err := c.Create(ctx, testutil.Service(ns, name)); err != nil {
			return fmt.Errorf("create Service %s/%s: %w", ns, name, err)
		}
		if err := c.Create(ctx, slice(ns, name, true)); err != nil {
			return fmt.Errorf("create EndpointSlice %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

// slice is the EndpointSlice of Service ns/name with two endpoints, ready or not.
func slice(ns, name string, ready bool) *discoveryv1.EndpointSlice {
	return testutil.EndpointSlice(ns, name, 2, ready)
}

// watch creates `checkers` ServiceCheckers in the world's first namespace, each listing watched/checkers of the
// world's Services (the first `watched` ones).
func (w world) watch(ctx context.Context, c client.Client, checkers, watched int) error {
	per := watched / checkers
	return testutil.Parallel(checkers, func(k int) error {
		sc := &v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace(0), Name: fmt.Sprintf("checker-%d", k)}}
		for i := k * per; i < (k+1)*per; i++ {
			sc.Spec.Services = append(sc.Spec.Services, v1alpha1.ServiceRef{Name: w.service(i), Namespace: w.namespace(i)})
		}
		return c.Create(ctx, sc)
	})
}

// unwatch deletes every ServiceChecker of the world.
func (w world) unwatch(ctx context.Context, c client.Client) error {
	return c.DeleteAllOf(ctx, &v1alpha1.ServiceChecker{}, client.InNamespace(w.namespace(0)))
}

// setWatched replaces the world's ServiceCheckers by `checkers` new ones without status, watching the first
// `watched` Services.
func (w world) setWatched(ctx context.Context, c client.Client, checkers, watched int) error {
	if err := w.unwatch(ctx, c); err != nil {
		return err
	}
	return w.watch(ctx, c, checkers, watched)
}
