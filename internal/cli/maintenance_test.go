package cli

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deadKubeconfig writes a kubeconfig of a cluster that does not answer, with namespace shop in its context.
func deadKubeconfig(t *testing.T) (path, server string) {
	t.Helper()
	dead := httptest.NewServer(nil)
	server = dead.URL
	dead.Close()
	path = filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "` + server + `"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: dead, context: {cluster: dead, user: u, namespace: shop}}]
current-context: dead
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, server
}

// TestMaintenanceUsage covers what on and off refuse before writing anything; envtest covers the writes.
func TestMaintenanceUsage(t *testing.T) {
	kubeconfig, server := deadKubeconfig(t)
	kc := []string{"--kubeconfig", kubeconfig, "--request-timeout", "2s"}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"the API is read-only", []string{"maintenance", "on", "storefront", "--api-url", "https://mwm:8443"}, ExitUsage,
			"maintenance on writes a MaintenanceWindow through your kubeconfig, so that your RBAC decides; the " +
				"manager's API is read-only and --api-url does not apply"},
		{"off refuses the API too", []string{"maintenance", "off", "storefront", "--api-insecure-skip-tls-verify"},
			ExitUsage, "--api-insecure-skip-tls-verify does not apply"},
		{"no checker", append([]string{"maintenance", "on"}, kc...), ExitUsage, "takes one argument, the ServiceChecker"},
		{"two checkers", append([]string{"maintenance", "off", "a", "b"}, kc...), ExitUsage, "got 2"},
		{"-A", append([]string{"maintenance", "off", "storefront", "-A"}, kc...), ExitUsage, "not -A or --checker"},
		{"namespace mismatch", append([]string{"maintenance", "on", "shop/storefront", "-n", "other"}, kc...), ExitUsage,
			"CHECKER shop/storefront is in namespace shop, not -n other"},
		{"negative --for", append([]string{"maintenance", "on", "storefront", "--for", "-1h"}, kc...), ExitUsage,
			"--for -1h0m0s must be at least 1s"},
		{"bad --for", append([]string{"maintenance", "on", "storefront", "--for", "2 hours"}, kc...), ExitUsage,
			`invalid argument "2 hours" for "--for"`},
		{"bad service", append([]string{"maintenance", "on", "storefront", "--services", "Check_Out"}, kc...), ExitUsage,
			`--services "Check_Out" is not NAME or NAMESPACE/NAME`},
		{"bad checker", append([]string{"maintenance", "on", "Store_Front"}, kc...), ExitUsage,
			`"Store_Front" is not NAME of a ServiceChecker in namespace "shop"`},
		{"unreachable cluster", append([]string{"maintenance", "on", "storefront"}, kc...), ExitSource, server},
		{"no kubeconfig", []string{"maintenance", "off", "storefront", "--kubeconfig", "/nonexistent"}, ExitSource,
			"no usable kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(context.Background(), nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) || strings.Count(r.stderr, "mwmctl: ") != 1 ||
				r.out != "" {
				t.Errorf("%v = exit %d, stdout %q, stderr %q; want exit %d and %q", tt.args, r.code, r.out, r.stderr,
					tt.code, tt.msg)
			}
		})
	}
	r := run(context.Background(), map[string]string{"MWM_API_URL": "https://mwm:8443"},
		append([]string{"maintenance", "off", "storefront"}, kc...)...)
	if !strings.Contains(r.stderr, "note: MWM_API_URL is ignored: mwmctl maintenance off writes through your "+
		"kubeconfig (the cluster at "+server+")") || r.code != ExitSource {
		t.Errorf("maintenance off with MWM_API_URL = %d %q, want a note and the kubeconfig's cluster tried", r.code, r.stderr)
	}
}
