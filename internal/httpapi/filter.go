package httpapi

import (
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// filter selects entries by the query parameters namespace, critical, ready and checker. Unset means any.
type filter struct {
	namespaces map[string]bool
	critical   *bool
	ready      *bool
	checker    string
}

func (f filter) empty() bool {
	return f.namespaces == nil && f.critical == nil && f.ready == nil && f.checker == ""
}

// parseFilter reads the filter from a query, rejecting bad values with an error naming the parameter.
// Unknown parameters are ignored, so cache-busting parameters added by browsers and libraries do no harm.
func parseFilter(q url.Values) (filter, error) {
	var f filter
	for param, values := range q {
		if len(values) != 1 && (param == "namespace" || param == "critical" || param == "ready" || param == "checker") {
			return f, fmt.Errorf("parameter %s is given %d times; give it once (namespace takes a comma list)",
				param, len(values))
		}
	}
	if v, ok := q["namespace"]; ok {
		f.namespaces = map[string]bool{}
		for _, ns := range strings.Split(v[0], ",") {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return f, fmt.Errorf("parameter namespace: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
			}
			f.namespaces[ns] = true
		}
	}
	var err error
	if f.critical, err = parseBool(q, "critical"); err != nil {
		return f, err
	}
	if f.ready, err = parseBool(q, "ready"); err != nil {
		return f, err
	}
	if v, ok := q["checker"]; ok {
		if !snapshot.IsCheckerKey(v[0]) {
			return f, fmt.Errorf("parameter checker: %q is not <namespace>/<name> of a ServiceChecker", v[0])
		}
		f.checker = v[0]
	}
	return f, nil
}

func parseBool(q url.Values, param string) (*bool, error) {
	v, ok := q[param]
	if !ok {
		return nil, nil
	}
	switch v[0] {
	case "true":
		t := true
		return &t, nil
	case "false":
		f := false
		return &f, nil
	}
	return nil, fmt.Errorf("parameter %s: %q is not true or false", param, v[0])
}

func (f filter) matches(e *snapshot.Entry) bool {
	if f.namespaces != nil && !f.namespaces[e.Namespace] {
		return false
	}
	if f.critical != nil && e.Critical != *f.critical {
		return false
	}
	if f.ready != nil && e.Ready != *f.ready {
		return false
	}
	return f.checker == "" || e.ListedBy(f.checker)
}

// apply returns the JSON array of the matching entries, assembled from their pre-encoded bytes.
func (f filter) apply(snap *snapshot.Snapshot) []byte {
	if f.empty() {
		return snap.Services.JSON
	}
	selected := make([][]byte, 0, len(snap.Entries))
	for i := range snap.Entries {
		if f.matches(&snap.Entries[i]) {
			selected = append(selected, snap.EntryJSON[i])
		}
	}
	return snapshot.JoinArray(selected)
}
