package testutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// module is the path that go.mod declares at the repository's root.
const module = "github.com/mamrezb/maintenance-window-manager"

// Binary returns the absolute path of a binary the suites run: the path in the environment variable env when it is
// set, else <repository>/bin/<name>. When the file is missing, the error says how to build it or where to point env.
func Binary(env, name string) (string, error) {
	path := os.Getenv(env)
	fromEnv := path != ""
	if !fromEnv {
		root, err := repoRoot()
		if err != nil {
			return "", fmt.Errorf("locate bin/%s: %w; set %s to the %s binary", name, err, env, name)
		}
		path = filepath.Join(root, "bin", name)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("locate the %s binary %s: %w", name, path, err)
	}
	info, err := os.Stat(abs)
	switch {
	case err == nil && info.IsDir():
		return "", fmt.Errorf("%s is a directory, not the %s binary", abs, name)
	case err == nil:
		return abs, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("locate the %s binary: %w", name, err)
	case fromEnv:
		return "", fmt.Errorf("%s=%s does not exist: set %s to the %s binary, or unset it to use bin/%s",
			env, path, env, name, name)
	default:
		return "", fmt.Errorf("%s not found: run `make build helm` (make test and make test-e2e build it too), "+
			"or set %s to the %s binary", abs, env, name)
	}
}

// repoRoot returns the nearest directory at or above the working directory whose go.mod declares this module
// (a test runs in its package's directory; hack/tools and hack/controlplane have go.mod files of their own).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository root: %w", err)
	}
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find the repository root: %w", err)
		}
		if err == nil && declares(raw, module) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find the repository root: no go.mod of module %s at or above the working directory", module)
		}
		dir = parent
	}
}

// declares reports whether a go.mod's module directive names path.
func declares(goMod []byte, path string) bool {
	lines := bufio.NewScanner(bytes.NewReader(goMod))
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == path
		}
	}
	return false
}
