package httpapi

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/mamrezb/maintenance-window-manager/internal/ofrep"
)

// TestRoutesAreDocumented fails when a route is served but missing from docs/openapi.yaml or docs/api.md, or
// documented but not served.
func TestRoutesAreDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	documented := make([]string, 0, len(spec.Paths))
	for p := range spec.Paths {
		documented = append(documented, p)
	}
	sort.Strings(documented)
	served := append(slices.Clone(Routes), PostRoutes...)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("docs/openapi.yaml documents %v, the handler serves %v", documented, served)
	}

	guide, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range Routes {
		if !strings.Contains(string(guide), "`GET "+route+"`") {
			t.Errorf("docs/api.md does not document `GET %s`", route)
		}
	}
	for _, route := range PostRoutes {
		if !strings.Contains(string(guide), "`POST "+route+"`") {
			t.Errorf("docs/api.md does not document `POST %s`", route)
		}
	}

	// Every documented path is routed, with its parameters filled in.
	for _, route := range documented {
		path := strings.NewReplacer("{namespace}", "shop", "{name}", "api", "{key}", "maintenance").Replace(route)
		r, _, _, ok := match(path)
		if or, _, isOFREP := ofrep.Match(path); isOFREP {
			r, ok = or, true
		}
		if !ok || r != route {
			t.Errorf("documented path %s (as %s) is not served", route, path)
		}
	}
	// And nothing else is: paths near the documented ones are not routed.
	for _, path := range []string{"//", "/index.html", "/service", "/services/", "/services/shop", "/services/shop/api/x",
		"/statuses", "/event", "/events/x", "/metrics", "/healthz", "/readyz", "/api/services", "/ofrep", "/ofrep/v1/evaluate",
		"/ofrep/v1/evaluate/flags/", "/ofrep/v1/evaluate/flags/a/b", "/ofrep/v1/events/x"} {
		if _, _, ok := ofrep.Match(path); ok {
			t.Errorf("undocumented path %s is served as an OFREP route", path)
		}
		if r, _, _, ok := match(path); ok {
			t.Errorf("undocumented path %s is served as %s", path, r)
		}
	}
}
