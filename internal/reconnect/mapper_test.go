package reconnect

import (
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// With nothing listening where the API server should be, the given kinds still map, as namespaced, and any other
// kind asks the API server (and fails) instead of being guessed.
func TestMapperProviderWithoutAPIServer(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: "https://" + testutil.FreeAddr()} // nothing listens there
	mapper, err := MapperProvider(scheme, &corev1.Service{}, &discoveryv1.EndpointSlice{})(cfg, http.DefaultClient)
	if err != nil {
		t.Fatalf("MapperProvider: %v", err)
	}
	for obj, resource := range map[runtime.Object]string{&corev1.Service{}: "services", &discoveryv1.EndpointSlice{}: "endpointslices"} {
		namespaced, err := apiutil.IsObjectNamespaced(obj, scheme, mapper)
		if err != nil || !namespaced {
			t.Errorf("IsObjectNamespaced(%T) = %v, %v; want true without the API server", obj, namespaced, err)
		}
		gvk, _ := apiutil.GVKForObject(obj, scheme)
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil || m.Resource.Resource != resource {
			t.Errorf("RESTMapping(%s) = %v, %v; want resource %s", gvk, m, err, resource)
		}
	}
	if _, err := mapper.RESTMapping(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "v1"); err == nil {
		t.Error("RESTMapping(Deployment) succeeded without the API server; only the given kinds may be known")
	}
}

func TestMapperProviderRejectsUnknownTypes(t *testing.T) {
	_, err := MapperProvider(runtime.NewScheme(), &corev1.Service{})(&rest.Config{Host: "https://127.0.0.1:1"}, http.DefaultClient)
	if err == nil {
		t.Fatal("MapperProvider accepted a type its scheme does not know")
	}
}
