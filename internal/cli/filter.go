package cli

import (
	"fmt"
	"strings"

	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/source"
)

// selection validates the filter flags and arguments, then opens the source: what every command starts with. The
// selection is applied by the source (the API as query parameters, the cluster source on the ServiceCheckers' status)
// with the same rules, in internal/selection and internal/snapshot.
func (o *options) selection(args []string, critical, notReady bool) (selection.Selection, source.Source, error) {
	sel, err := o.selectionOf(args, critical, notReady)
	if err != nil {
		return sel, nil, err
	}
	src, err := o.source()
	return sel, src, err
}

// selectionOf maps -n, --checker, --critical, --not-ready and the SERVICE arguments to a selection, with errors that
// name the flag.
func (o *options) selectionOf(args []string, critical, notReady bool) (selection.Selection, error) {
	sel := selection.Selection{Checker: o.checker, Services: args}
	namespace := ""
	if o.kube.Namespace != nil {
		namespace = *o.kube.Namespace
	}
	if namespace != "" && o.allNamespaces {
		return sel, withCode(ExitUsage, fmt.Errorf("-n/--namespace %s and -A/--all-namespaces exclude each other", namespace))
	}
	if namespace != "" {
		sel.Namespaces = []string{namespace}
		if err := (selection.Selection{Namespaces: sel.Namespaces}).Validate(); err != nil {
			return sel, withCode(ExitUsage, fmt.Errorf("-n/--namespace %q is not a namespace name", namespace))
		}
	}
	if sel.Checker != "" && !selection.IsCheckerKey(sel.Checker) {
		return sel, withCode(ExitUsage, fmt.Errorf("--checker %q is not NAMESPACE/NAME of a ServiceChecker", sel.Checker))
	}
	for _, a := range args {
		if !selection.IsServiceRef(a) {
			return sel, withCode(ExitUsage, fmt.Errorf("SERVICE argument %q is not NAME or NAMESPACE/NAME of a Service", a))
		}
	}
	if critical {
		sel.Critical = ptr.To(true)
	}
	if notReady {
		sel.Ready = ptr.To(false)
	}
	return sel, nil
}

// describe names the flags of a selection, for messages about what matched nothing.
func describe(sel selection.Selection) string {
	var parts []string
	if sel.Checker != "" {
		parts = append(parts, "--checker "+sel.Checker)
	}
	for _, ns := range sel.Namespaces {
		parts = append(parts, "-n "+ns)
	}
	if sel.Critical != nil {
		parts = append(parts, "--critical")
	}
	if sel.Ready != nil {
		parts = append(parts, "--not-ready")
	}
	parts = append(parts, sel.Services...)
	return strings.Join(parts, " ")
}
