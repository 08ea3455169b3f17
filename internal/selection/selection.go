package selection

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Query parameters of the API's /services, /status and /events.
const (
	ParamChecker   = "checker"
	ParamNamespace = "namespace"
	ParamService   = "service"
	ParamCritical  = "critical"
	ParamReady     = "ready"
	// ParamCacheBuster is accepted and ignored everywhere: browsers and libraries add it to defeat caches.
	ParamCacheBuster = "_"
)

// Params are the filter parameters, in the order error messages list them.
var Params = []string{ParamChecker, ParamNamespace, ParamService, ParamCritical, ParamReady}

// Selection says which (ServiceChecker, Service) verdicts are in view. The zero value selects everything.
type Selection struct {
	// Checker "<namespace>/<name>" puts exactly one ServiceChecker in view, with its own verdicts. Empty: every
	// ServiceChecker.
	Checker string
	// Namespaces keep the Services in these namespaces (every ServiceChecker's verdicts on them: this is not a
	// tenancy boundary). Empty: any namespace.
	Namespaces []string
	// Services keep these Services, each "name" (in any namespace) or "namespace/name". Empty: any.
	Services []string
	// Critical and Ready keep the Services whose entry in view has that value. Nil: either.
	Critical *bool
	Ready    *bool
}

// Empty reports whether the selection keeps everything.
func (s Selection) Empty() bool {
	return s.Checker == "" && len(s.Namespaces) == 0 && len(s.Services) == 0 && s.Critical == nil && s.Ready == nil
}

// Keep reports whether a Service with these values passes the namespace, service, critical and ready filters
// (the checker is chosen before: it decides which verdicts the values come from).
func (s Selection) Keep(namespace, name string, critical, ready bool) bool {
	if len(s.Namespaces) > 0 && !slices.Contains(s.Namespaces, namespace) {
		return false
	}
	if len(s.Services) > 0 && !slices.Contains(s.Services, name) && !slices.Contains(s.Services, namespace+"/"+name) {
		return false
	}
	if s.Critical != nil && critical != *s.Critical {
		return false
	}
	return s.Ready == nil || ready == *s.Ready
}

// Parse reads a selection from query parameters. Every parameter may be given once; namespace and service take
// comma lists. A parameter that is not a filter (a typo such as "checkers") is an error naming the accepted ones:
// silently answering for everything would tell a frontend "all clear" about Services it did not ask for.
func Parse(q url.Values) (Selection, error) {
	var s Selection
	for param, values := range q {
		if param == ParamCacheBuster {
			continue
		}
		if !slices.Contains(Params, param) {
			return s, fmt.Errorf("unknown parameter %q; the accepted ones are %s (and _, ignored)", param,
				strings.Join(Params, ", "))
		}
		if len(values) != 1 {
			return s, fmt.Errorf("parameter %s is given %d times; give it once (namespace and service take a "+
				"comma list)", param, len(values))
		}
	}
	if v, ok := q[ParamChecker]; ok {
		if v[0] == "" {
			// An unset template variable (checker=${CHECKER}) must not turn into the whole cluster's answer.
			return s, errors.New("parameter checker is empty; give <namespace>/<name> of a ServiceChecker, or leave " +
				"the parameter out to ask about every ServiceChecker")
		}
		s.Checker = v[0]
	}
	if v, ok := q[ParamNamespace]; ok {
		s.Namespaces = strings.Split(v[0], ",")
	}
	if v, ok := q[ParamService]; ok {
		s.Services = strings.Split(v[0], ",")
	}
	var err error
	if s.Critical, err = parseBool(q, ParamCritical); err != nil {
		return s, err
	}
	if s.Ready, err = parseBool(q, ParamReady); err != nil {
		return s, err
	}
	return s, s.Validate()
}

// Validate checks every value, with an error naming the parameter (mwmctl maps the names to its flags).
func (s Selection) Validate() error {
	if s.Checker != "" && !IsCheckerKey(s.Checker) {
		return fmt.Errorf("parameter checker: %q is not <namespace>/<name> of a ServiceChecker", s.Checker)
	}
	for _, ns := range s.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("parameter namespace: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
	}
	for _, svc := range s.Services {
		if !IsServiceRef(svc) {
			return fmt.Errorf("parameter service: %q is not <name> or <namespace>/<name> of a Service", svc)
		}
	}
	return nil
}

// Values encodes the selection as query parameters, the inverse of Parse.
func (s Selection) Values() url.Values {
	q := url.Values{}
	if s.Checker != "" {
		q.Set(ParamChecker, s.Checker)
	}
	if len(s.Namespaces) > 0 {
		q.Set(ParamNamespace, strings.Join(s.Namespaces, ","))
	}
	if len(s.Services) > 0 {
		q.Set(ParamService, strings.Join(s.Services, ","))
	}
	if s.Critical != nil {
		q.Set(ParamCritical, strconv.FormatBool(*s.Critical))
	}
	if s.Ready != nil {
		q.Set(ParamReady, strconv.FormatBool(*s.Ready))
	}
	return q
}

// IsCheckerKey reports whether key is "<namespace>/<name>" of a possible ServiceChecker.
func IsCheckerKey(key string) bool {
	ns, name, found := strings.Cut(key, "/")
	return found && len(validation.IsDNS1123Label(ns)) == 0 && len(validation.IsDNS1123Subdomain(name)) == 0
}

// IsServiceRef reports whether ref is "<name>" or "<namespace>/<name>" of a possible Service.
func IsServiceRef(ref string) bool {
	ns, name, qualified := strings.Cut(ref, "/")
	if !qualified {
		name, ns = ns, ""
	}
	return len(validation.IsDNS1035Label(name)) == 0 && (!qualified || len(validation.IsDNS1123Label(ns)) == 0)
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
