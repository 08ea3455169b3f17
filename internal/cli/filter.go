package cli

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/source"
)

// filter keeps the entries the user asked for; the same for both sources.
type filter struct {
	namespace string
	checker   string
	critical  bool
	notReady  bool
	services  map[string]bool // "name" or "namespace/name"
}

// selection validates the filter flags and arguments, then opens the source: what every command starts with.
func (o *options) selection(args []string, critical, notReady bool) (filter, source.Source, error) {
	f, err := o.filter(args, critical, notReady)
	if err != nil {
		return f, nil, err
	}
	src, err := o.source()
	return f, src, err
}

func (o *options) filter(args []string, critical, notReady bool) (filter, error) {
	f := filter{checker: o.checker, critical: critical, notReady: notReady}
	if o.kube.Namespace != nil {
		f.namespace = *o.kube.Namespace
	}
	if f.namespace != "" && o.allNamespaces {
		return f, withCode(ExitUsage, fmt.Errorf("-n/--namespace %s and -A/--all-namespaces exclude each other", f.namespace))
	}
	if f.namespace != "" {
		if errs := validation.IsDNS1123Label(f.namespace); len(errs) > 0 {
			return f, withCode(ExitUsage, fmt.Errorf("-n/--namespace %q is not a namespace name: %s", f.namespace, errs[0]))
		}
	}
	if f.checker != "" {
		if !snapshot.IsCheckerKey(f.checker) {
			return f, withCode(ExitUsage, fmt.Errorf("--checker %q is not NAMESPACE/NAME of a ServiceChecker", f.checker))
		}
	}
	for _, a := range args {
		ns, name, qualified := strings.Cut(a, "/")
		if !qualified {
			name, ns = ns, ""
		}
		if len(validation.IsDNS1035Label(name)) > 0 || (qualified && len(validation.IsDNS1123Label(ns)) > 0) {
			return f, withCode(ExitUsage, fmt.Errorf("SERVICE argument %q is not NAME or NAMESPACE/NAME of a Service", a))
		}
		if f.services == nil {
			f.services = map[string]bool{}
		}
		f.services[a] = true
	}
	return f, nil
}

func (f filter) keep(e *snapshot.Entry) bool {
	if f.namespace != "" && e.Namespace != f.namespace {
		return false
	}
	if f.critical && !e.Critical {
		return false
	}
	if f.notReady && e.Ready {
		return false
	}
	if f.services != nil && !f.services[e.Name] && !f.services[e.Key()] {
		return false
	}
	return f.checker == "" || e.ListedBy(f.checker)
}

func (f filter) apply(entries []snapshot.Entry) []snapshot.Entry {
	out := make([]snapshot.Entry, 0, len(entries))
	for i := range entries {
		if f.keep(&entries[i]) {
			out = append(out, entries[i])
		}
	}
	return out
}
