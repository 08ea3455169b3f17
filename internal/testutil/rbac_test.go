package testutil

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

const roleYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: %s
metadata:
  name: manager-role
rules:
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create, get, update]
`

var wantRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create", "get", "update"}},
}

func decodeOne(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	objs, err := DecodeYAML([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

func TestRulesOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  runtime.Object
		err  string // substring of the error, when one is wanted
	}{
		{name: "typed ClusterRole", obj: &rbacv1.ClusterRole{Rules: wantRules}},
		{name: "typed Role", obj: &rbacv1.Role{Rules: wantRules}},
		{name: "unstructured ClusterRole", obj: decodeOne(t, strings.ReplaceAll(roleYAML, "%s", "ClusterRole"))},
		{name: "unstructured Role", obj: decodeOne(t, strings.ReplaceAll(roleYAML, "%s", "Role"))},
		{name: "another kind", obj: decodeOne(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"),
			err: "Deployment d (apps/v1): not a Role or ClusterRole"},
		{name: "a Role of another group", obj: decodeOne(t, "apiVersion: example.com/v1\nkind: Role\nmetadata:\n  name: r\n"),
			err: "not a Role or ClusterRole"},
		{name: "a typed object of another kind", obj: &rbacv1.RoleBinding{}, err: "*v1.RoleBinding: not a Role"},
		{name: "no rules", obj: &rbacv1.ClusterRole{}, err: "has no rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RulesOf(tc.obj)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("RulesOf() error = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, wantRules) {
				t.Fatalf("RulesOf() = %v, %v; want %v", got, err, wantRules)
			}
		})
	}
}

func TestRulesOfReturnsACopy(t *testing.T) {
	role := &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}}}
	rules, err := RulesOf(role)
	if err != nil {
		t.Fatal(err)
	}
	rules[0].Verbs[0] = "delete"
	if role.Rules[0].Verbs[0] != "get" {
		t.Fatalf("changing a rule of the result changed the role: %v", role.Rules)
	}
	rules[0] = rbacv1.PolicyRule{}
	if len(role.Rules[0].Resources) != 1 {
		t.Fatalf("replacing a rule of the result changed the role: %v", role.Rules)
	}
}

func TestRulesOfFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	role := write("role.yaml", "---\n"+strings.ReplaceAll(roleYAML, "%s", "ClusterRole"))
	if got, err := RulesOfFile(role); err != nil || !reflect.DeepEqual(got, wantRules) {
		t.Fatalf("RulesOfFile() = %v, %v; want %v", got, err, wantRules)
	}
	two := write("two.yaml", strings.ReplaceAll(roleYAML, "%s", "Role")+"---\n"+strings.ReplaceAll(roleYAML, "%s", "Role"))
	sa := write("sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n")
	for path, want := range map[string]string{
		two: "2 objects, want one Role or ClusterRole",
		sa:  "ServiceAccount sa (v1): not a Role or ClusterRole",
	} {
		if _, err := RulesOfFile(path); err == nil || !strings.Contains(err.Error(), path+": ") ||
			!strings.Contains(err.Error(), want) {
			t.Errorf("RulesOfFile(%s) error = %v, want one naming the file and saying %q", path, err, want)
		}
	}
}
