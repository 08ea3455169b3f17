package testutil

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDecodeYAML(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		kinds       []string // of the objects, in order
		err         string   // substring of the error, when one is wanted
	}{
		{name: "documents as helm template writes them, empty ones skipped",
			input: "---\n# Source: chart/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n" +
				"---\n# Source: chart/templates/empty.yaml\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n---\n",
			kinds: []string{"ServiceAccount", "Service"}},
		{name: "one document without separator", input: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
			kinds: []string{"Secret"}},
		{name: "JSON", input: `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`,
			kinds: []string{"ConfigMap"}},
		{name: "nothing in it", input: "---\n# only a comment\n---\n", err: "no object"},
		{name: "a broken document, named by its number",
			input: "kind: A\n---\nkind: [B\n", err: "document 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := DecodeYAML([]byte(tc.input))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("DecodeYAML() error = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kinds := make([]string, 0, len(objs))
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("kinds = %v, want %v", kinds, tc.kinds)
			}
		})
	}
}

func TestDecodeYAMLFile(t *testing.T) {
	dir := t.TempDir()
	good, empty := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(good, []byte("kind: A\n---\nkind: B\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if objs, err := DecodeYAMLFile(good); err != nil || len(objs) != 2 {
		t.Fatalf("DecodeYAMLFile(good) = %d objects, %v; want 2", len(objs), err)
	}
	for _, path := range []string{empty, filepath.Join(dir, "missing.yaml")} {
		if _, err := DecodeYAMLFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("DecodeYAMLFile(%s) error = %v, want one naming the file", path, err)
		}
	}
}
