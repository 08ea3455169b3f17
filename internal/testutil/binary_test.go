package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRepo makes a checkout with bin/tool and a nested module of its own (like hack/tools), and returns its root.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		path = filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "// the product\nmodule "+module+"\n\ngo 1.26\n")
	write("bin/tool", "#!/bin/sh\n")
	write("hack/tools/go.mod", "module "+module+"/hack/tools\n")
	write("hack/tools/pkg/x.go", "package pkg\n")
	return root
}

func TestBinary(t *testing.T) {
	root := fakeRepo(t)
	t.Chdir(filepath.Join(root, "hack", "tools", "pkg"))

	t.Run("bin/<name> of the repository when the variable is unset", func(t *testing.T) {
		t.Setenv("TOOL", "")
		got, err := Binary("TOOL", "tool")
		if want := filepath.Join(root, "bin", "tool"); err != nil || got != want {
			t.Fatalf("Binary() = %q, %v; want %q", got, err, want)
		}
	})
	t.Run("the variable's path, made absolute", func(t *testing.T) {
		t.Setenv("TOOL", "../../../bin/tool")
		got, err := Binary("TOOL", "tool")
		if want := filepath.Join(root, "bin", "tool"); err != nil || got != want {
			t.Fatalf("Binary() = %q, %v; want %q", got, err, want)
		}
	})

	for _, tc := range []struct {
		name, env, binary string
		want              []string // substrings of the error
	}{
		{name: "missing from bin/", binary: "manager",
			want: []string{filepath.Join(root, "bin", "manager") + " not found", "make build helm", "set TOOL to the manager binary"}},
		{name: "the variable names a missing file", env: "/nowhere/manager", binary: "manager",
			want: []string{"TOOL=/nowhere/manager does not exist", "unset it to use bin/manager"}},
		{name: "the variable names a directory", env: root, binary: "manager",
			want: []string{root + " is a directory, not the manager binary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TOOL", tc.env)
			got, err := Binary("TOOL", tc.binary)
			if err == nil {
				t.Fatalf("Binary() = %q, want an error", got)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}

	t.Run("outside the repository", func(t *testing.T) {
		t.Setenv("TOOL", "")
		t.Chdir(t.TempDir())
		if _, err := Binary("TOOL", "tool"); err == nil || !strings.Contains(err.Error(), "set TOOL to the tool binary") {
			t.Fatalf("Binary() error = %v, want one saying to set TOOL", err)
		}
	})
}
