package testutil

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// RulesOf returns a copy of the rules of a Role or ClusterRole: a typed *rbacv1.Role or *rbacv1.ClusterRole, or an
// unstructured one as DecodeYAML returns it. The copy may be changed without changing the object. A role without
// rules is an error: every role the suites compare has some, so none means the wrong object.
func RulesOf(obj runtime.Object) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	var what string
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		rules, what = o.Rules, "ClusterRole "+o.Name
	case *rbacv1.Role:
		rules, what = o.Rules, "Role "+o.Namespace+"/"+o.Name
	case *unstructured.Unstructured:
		gvk := o.GroupVersionKind()
		what = gvk.Kind + " " + o.GetName()
		if gvk.Group != rbacv1.GroupName || (gvk.Kind != "ClusterRole" && gvk.Kind != "Role") {
			return nil, fmt.Errorf("rules of %s (%s): not a Role or ClusterRole", what, gvk.GroupVersion())
		}
		var role rbacv1.ClusterRole // a Role has the same rules field
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
			return nil, fmt.Errorf("rules of %s: %w", what, err)
		}
		rules = role.Rules
	default:
		return nil, fmt.Errorf("rules of a %T: not a Role or ClusterRole", obj)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("%s has no rules", what)
	}
	out := make([]rbacv1.PolicyRule, len(rules))
	for i := range rules {
		rules[i].DeepCopyInto(&out[i])
	}
	return out, nil
}

// RulesOfFile returns the rules of the one Role or ClusterRole in a YAML file, such as config/rbac/role.yaml.
func RulesOfFile(path string) ([]rbacv1.PolicyRule, error) {
	objs, err := DecodeYAMLFile(path)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("%s: %d objects, want one Role or ClusterRole", path, len(objs))
	}
	rules, err := RulesOf(objs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}
