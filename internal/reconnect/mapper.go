package reconnect

import (
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// MapperProvider is a manager's Options.MapperProvider: controller-runtime's dynamic RESTMapper, except that the
// namespaced kinds of objs (types of scheme) are mapped without asking the API server. The cache's per-kind options
// (ByObject) look up whether each of their kinds is namespaced when the manager is created: through discovery alone,
// a manager created while the API server is away fails, and the process exits instead of serving its API. Pass the
// objects of the cache's ByObject; they must be namespaced kinds whose mapping never changes (built-in ones).
func MapperProvider(scheme *runtime.Scheme, objs ...client.Object) func(*rest.Config, *http.Client) (meta.RESTMapper, error) {
	return func(cfg *rest.Config, hc *http.Client) (meta.RESTMapper, error) {
		static := meta.NewDefaultRESTMapper(nil)
		for _, obj := range objs {
			gvk, err := apiutil.GVKForObject(obj, scheme)
			if err != nil {
				return nil, fmt.Errorf("map %T without discovery: %w", obj, err)
			}
			static.Add(gvk, meta.RESTScopeNamespace)
		}
		dynamic, err := apiutil.NewDynamicRESTMapper(cfg, hc)
		if err != nil {
			return nil, err
		}
		return &builtinFirst{static: static, next: dynamic}, nil
	}
}

// builtinFirst answers from static what it knows, and from next everything else.
type builtinFirst struct {
	static meta.RESTMapper
	next   meta.RESTMapper
}

func (m *builtinFirst) KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	if k, err := m.static.KindFor(resource); err == nil {
		return k, nil
	}
	return m.next.KindFor(resource)
}

func (m *builtinFirst) KindsFor(resource schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	if k, err := m.static.KindsFor(resource); err == nil {
		return k, nil
	}
	return m.next.KindsFor(resource)
}

func (m *builtinFirst) ResourceFor(input schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	if r, err := m.static.ResourceFor(input); err == nil {
		return r, nil
	}
	return m.next.ResourceFor(input)
}

func (m *builtinFirst) ResourcesFor(input schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	if r, err := m.static.ResourcesFor(input); err == nil {
		return r, nil
	}
	return m.next.ResourcesFor(input)
}

func (m *builtinFirst) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	if r, err := m.static.RESTMapping(gk, versions...); err == nil {
		return r, nil
	}
	return m.next.RESTMapping(gk, versions...)
}

func (m *builtinFirst) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	if r, err := m.static.RESTMappings(gk, versions...); err == nil && len(r) > 0 {
		return r, nil
	}
	return m.next.RESTMappings(gk, versions...)
}

func (m *builtinFirst) ResourceSingularizer(resource string) (string, error) {
	if s, err := m.static.ResourceSingularizer(resource); err == nil {
		return s, nil
	}
	return m.next.ResourceSingularizer(resource)
}
