package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/httpapi"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type result struct {
	code        int
	out, stderr string
}

func run(ctx context.Context, env map[string]string, args ...string) result {
	var out, errOut testutil.SyncBuffer
	code := Run(ctx, "mwmctl", args, IO{Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] },
		Now: func() time.Time { return t0.Add(time.Minute) }})
	return result{code, out.String(), errOut.String()}
}

// apiServer runs the real API handler on a TLS listener and writes its certificate to a CA file.
func apiServer(t *testing.T) (*httptest.Server, *snapshot.Store, string) {
	t.Helper()
	store := snapshot.NewStore()
	// The handler's clock (for upcoming windows) is run()'s.
	srv := httptest.NewTLSServer(httpapi.NewHandler(store, httpapi.HandlerOptions{SSEHeartbeat: 50 * time.Millisecond,
		Clock: clocktesting.NewFakePassiveClock(t0.Add(time.Minute))}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, store, ca
}

// publish makes checkout (critical) ready or not, next to a ready non-critical search.
func publish(t *testing.T, store *snapshot.Store, checkoutReady bool) {
	t.Helper()
	publishWithWindows(t, store, checkoutReady)
}

// publishWithWindows is publish with MaintenanceWindows of shop, as the operator writes their status.
func publishWithWindows(t *testing.T, store *snapshot.Store, checkoutReady bool, windows ...v1alpha1.MaintenanceWindow) {
	t.Helper()
	reason := v1alpha1.ReasonReady
	if !checkoutReady {
		reason = v1alpha1.ReasonNoReadyEndpoints
	}
	sc := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront"},
		Status: v1alpha1.ServiceCheckerStatus{ServiceStatuses: []v1alpha1.ServiceStatus{
			{Namespace: "shop", Name: "checkout", Ready: checkoutReady, Critical: true, Reason: reason,
				LastTransitionTime: metav1.NewTime(t0)},
			{Namespace: "shop", Name: "search", Ready: true, ReadyEndpoints: 3, Reason: v1alpha1.ReasonReady,
				LastTransitionTime: metav1.NewTime(t0)},
		}}}
	for _, w := range windows { // the operator marks the entries an active window covers whole
		if w.Status.Phase == v1alpha1.PhaseActive && len(w.Spec.Services) == 0 {
			for i := range sc.Status.ServiceStatuses {
				sc.Status.ServiceStatuses[i].MaintenanceWindow = w.Name
			}
		}
	}
	snap, err := snapshot.BuildWithWindows([]v1alpha1.ServiceChecker{sc}, windows, store.NextVersion(), t0)
	if err != nil {
		t.Fatal(err)
	}
	store.Publish(snap)
}

func TestStatusFromTheAPI(t *testing.T) {
	srv, store, ca := apiServer(t)
	publish(t, store, true)
	api := []string{"--api-url", srv.URL, "--api-ca-file", ca}

	r := run(context.Background(), nil, append([]string{"status", "-o", "json"}, api...)...)
	var entries, fromAPI []any
	if err := json.Unmarshal([]byte(r.out), &entries); r.code != ExitOK || err != nil || len(entries) != 2 {
		t.Fatalf("status -o json = %d %q %q (%v), want exactly one JSON array of 2 entries", r.code, r.out, r.stderr, err)
	}
	if err := json.Unmarshal(store.Current().All().Services.JSON, &fromAPI); err != nil || !reflect.DeepEqual(entries, fromAPI) {
		t.Errorf("status -o json = %v, want GET /services' entries %v", entries, fromAPI)
	}

	r = run(context.Background(), map[string]string{"MWM_API_URL": srv.URL}, "status", "--api-ca-file", ca)
	want := "NAMESPACE   SERVICE    READY   CRITICAL   ENDPOINTS   SINCE\n" +
		"shop        checkout   yes     yes        0           60s\n" +
		"shop        search     yes     no         3           60s\n" +
		"2 services, all ready: no maintenance\n"
	if r.code != ExitOK || r.out != want {
		t.Errorf("status via MWM_API_URL = %d\n%s\nwant\n%s", r.code, r.out, want)
	}

	r = run(context.Background(), nil, append([]string{"status", "search", "-o", "yaml"}, api...)...)
	if r.code != ExitOK || !strings.HasPrefix(r.out, "- checkers:") || strings.Contains(r.out, "checkout") {
		t.Errorf("status search -o yaml = %d %q", r.code, r.out)
	}
}

func TestCheckExitCodes(t *testing.T) {
	srv, store, ca := apiServer(t)
	api := []string{"--api-url", srv.URL, "--api-ca-file", ca}
	publish(t, store, true)
	if r := run(context.Background(), nil, append([]string{"check"}, api...)...); r.code != ExitOK ||
		r.out != "2 services, all ready: no maintenance\n" {
		t.Errorf("check when ready = %d %q", r.code, r.out)
	}

	publish(t, store, false)
	if r := run(context.Background(), nil, append([]string{"check"}, api...)...); r.code != ExitMaintenance ||
		!strings.Contains(r.out, "maintenance (shop/checkout)") {
		t.Errorf("check in maintenance = %d %q", r.code, r.out)
	}
	if r := run(context.Background(), nil, append([]string{"check", "--wait", "300ms", "--interval", "100ms"}, api...)...); r.code != ExitTimeout ||
		!strings.Contains(r.stderr, "still in maintenance after --wait 300ms") {
		t.Errorf("check --wait timing out = %d %q", r.code, r.stderr)
	}

	recovered := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { defer close(recovered); publish(t, store, true) })
	defer func() { <-recovered }()
	if r := run(context.Background(), nil, append([]string{"check", "--wait", "10s", "--interval", "100ms"}, api...)...); r.code != ExitOK ||
		!strings.HasSuffix(r.out, "all ready: no maintenance\n") {
		t.Errorf("check --wait until recovery = %d %q", r.code, r.out)
	}
}

func TestWatchFromTheAPISurvivesADroppedStream(t *testing.T) {
	srv, store, ca := apiServer(t)
	publish(t, store, true)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, "mwmctl", []string{"watch", "--api-url", srv.URL, "--api-ca-file", ca},
			IO{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }, Now: time.Now})
	}()
	waitFor(t, &out, "initial    shop/checkout")

	publish(t, store, false)
	waitFor(t, &out, "not-ready  shop/checkout")

	srv.CloseClientConnections()
	waitFor(t, &errOut, "connection lost")
	publish(t, store, true)
	waitFor(t, &out, "ready      shop/checkout")

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("watch ended with %d after Ctrl-C, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not end after its context was cancelled")
	}
}

func waitFor(t *testing.T, buf *testutil.SyncBuffer, substring string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), substring) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 10s in:\n%s", substring, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFailuresSayWhatToDo(t *testing.T) {
	srv, store, ca := apiServer(t)
	unsynced := httptest.NewTLSServer(httpapi.NewHandler(snapshot.NewStore(), httpapi.HandlerOptions{}))
	defer unsynced.Close()
	publish(t, store, true)
	dead := httptest.NewServer(nil)
	deadURL := dead.URL
	dead.Close()

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"TLS not verified", []string{"status", "--api-url", srv.URL}, ExitSource, "pass --api-ca-file"},
		{"unreachable", []string{"status", "--api-url", deadURL}, ExitSource, "cannot reach the maintenance API at " + deadURL},
		{"not synced", []string{"status", "--api-url", unsynced.URL, "--api-insecure-skip-tls-verify"}, ExitSource,
			"answered 503"},
		{"bad URL", []string{"status", "--api-url", "mwm:8443"}, ExitUsage, "--api-url"},
		{"missing CA file", []string{"status", "--api-url", srv.URL, "--api-ca-file", "/nonexistent"}, ExitUsage, "--api-ca-file"},
		{"bad output", []string{"status", "-o", "xml", "--api-url", srv.URL, "--api-ca-file", ca}, ExitUsage,
			`unknown output format "xml" for -o`},
		{"CA file without URL", []string{"status", "--api-ca-file", ca}, ExitUsage, "need --api-url"},
		{"server name without URL", []string{"status", "--api-tls-server-name", "mwm-api.mwm.svc"}, ExitUsage, "need --api-url"},
		{"certificate not for the server name", []string{"status", "--api-url", srv.URL, "--api-ca-file", ca,
			"--api-tls-server-name", "mwm-api.mwm.svc"}, ExitSource, "TLS verification of " + srv.URL + " failed"},
		{"checker typo in check", []string{"check", "--checker", "shop/storfront", "--api-url", srv.URL, "--api-ca-file", ca},
			ExitSource, "ServiceChecker shop/storfront does not exist"},
		{"namespace typo in check", []string{"check", "-n", "shpo", "--api-url", srv.URL, "--api-ca-file", ca},
			ExitSource, "no watched Service matches -n shpo"},
		{"checker typo in status", []string{"status", "--checker", "shop/storfront", "--api-url", srv.URL,
			"--api-ca-file", ca}, ExitSource, "check --checker for a typo"},
		{"negative wait", []string{"check", "--wait", "-1s", "--api-url", srv.URL}, ExitUsage, "--wait"},
		{"bad checker", []string{"status", "--checker", "storefront", "--api-url", srv.URL}, ExitUsage, "--checker"},
		{"bad namespace", []string{"status", "-n", "Shop", "--api-url", srv.URL}, ExitUsage, "-n/--namespace"},
		{"-n with -A", []string{"status", "-n", "shop", "-A", "--api-url", srv.URL}, ExitUsage, "exclude each other"},
		{"bad service", []string{"status", "shop/Check_Out", "--api-url", srv.URL}, ExitUsage, "SERVICE argument"},
		{"unknown flag", []string{"status", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"unknown command", []string{"stauts"}, ExitUsage, "unknown command"},
		{"check with args", []string{"check", "shop/checkout"}, ExitUsage, "takes no arguments"},
		{"bad watch output", []string{"watch", "-o", "yaml", "--api-url", srv.URL}, ExitUsage, "watch -o"},
		{"no kubeconfig", []string{"status", "--kubeconfig", "/nonexistent/kubeconfig"}, ExitSource,
			"no usable kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(context.Background(), nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) || strings.Count(r.stderr, "mwmctl: ") != 1 {
				t.Errorf("%v = exit %d, stderr %q; want exit %d and %q", tt.args, r.code, r.stderr, tt.code, tt.msg)
			}
		})
	}
}

// TestTLSServerName verifies the certificate against the given name rather than the URL's host, as through a
// kubectl port-forward (httptest's certificate holds example.com besides 127.0.0.1).
func TestTLSServerName(t *testing.T) {
	srv, store, ca := apiServer(t)
	publish(t, store, false)
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if r := run(context.Background(), nil, "status", "--api-url", localhost, "--api-ca-file", ca); r.code != ExitSource {
		t.Fatalf("localhost is not in the certificate, yet exit %d: %s", r.code, r.stderr)
	}
	r := run(context.Background(), nil, "status", "--api-url", localhost, "--api-ca-file", ca, "--api-tls-server-name", "example.com")
	if r.code != ExitOK {
		t.Fatalf("--api-tls-server-name example.com: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestColourAndPluginName(t *testing.T) {
	srv, store, ca := apiServer(t)
	publish(t, store, false)
	args := []string{"status", "--api-url", srv.URL, "--api-ca-file", ca}
	for _, tt := range []struct {
		terminal bool
		noColor  string
		want     bool
	}{{true, "", true}, {true, "1", false}, {false, "", false}} {
		var out bytes.Buffer
		Run(context.Background(), "mwmctl", args, IO{Out: &out, Err: &out, IsTerminal: tt.terminal,
			Getenv: func(k string) string {
				if k == "NO_COLOR" {
					return tt.noColor
				}
				return ""
			}})
		if got := strings.Contains(out.String(), "\x1b["); got != tt.want {
			t.Errorf("terminal %v NO_COLOR %q: colour %v, want %v", tt.terminal, tt.noColor, got, tt.want)
		}
	}

	var out bytes.Buffer
	Run(context.Background(), "kubectl-mwm", []string{"help"}, IO{Out: &out, Err: &out})
	if !strings.Contains(out.String(), "kubectl mwm [command]") || !strings.Contains(out.String(), "Exit codes") {
		t.Errorf("help as a kubectl plugin:\n%s", out.String())
	}
	out.Reset()
	if code := Run(context.Background(), "kubectl-mwm", []string{"completion", "bash"}, IO{Out: &out, Err: &out}); code != ExitOK ||
		!strings.Contains(out.String(), "__start_kubectl-mwm") || strings.Contains(out.String(), "complete -o default -F __start_kubectl kubectl") {
		t.Errorf("completion as a kubectl plugin must bind to kubectl-mwm, not replace kubectl's:\n%.300s", out.String())
	}
	out.Reset()
	if code := Run(context.Background(), "mwmctl", []string{"version"}, IO{Out: &out, Err: &out}); code != ExitOK ||
		!strings.HasPrefix(out.String(), "mwmctl dev (go") {
		t.Errorf("version = %q", out.String())
	}
}

func TestEmptyAndNoMatchHints(t *testing.T) {
	srv, store, ca := apiServer(t)
	snap, _ := snapshot.Build(nil, store.NextVersion(), t0)
	store.Publish(snap)
	r := run(context.Background(), nil, "status", "--api-url", srv.URL, "--api-ca-file", ca)
	if r.code != ExitOK || !strings.HasPrefix(r.out, "NAMESPACE   SERVICE") || !strings.Contains(r.stderr, "no ServiceChecker watches any Service yet") {
		t.Errorf("status with no ServiceChecker = %d %q %q, want an empty table, a hint and exit 0", r.code, r.out, r.stderr)
	}
	publish(t, store, true)
	r = run(context.Background(), nil, "status", "-n", "nowhere", "--api-url", srv.URL, "--api-ca-file", ca)
	if r.code != ExitOK || !strings.Contains(r.stderr, "no watched Service matches") {
		t.Errorf("status -n nowhere = %d %q", r.code, r.stderr)
	}
	r = run(context.Background(), nil, "status", "-o", "json", "-n", "nowhere", "--api-url", srv.URL, "--api-ca-file", ca)
	if r.out != "[]\n" {
		t.Errorf("status -o json with no match printed %q, want exactly []", r.out)
	}
}

func TestStaleData(t *testing.T) {
	srv, store, ca := apiServer(t)
	publish(t, store, true)
	api := []string{"--api-url", srv.URL, "--api-ca-file", ca}
	store.SetFreshness(true, t0.Add(-42*time.Second)) // the clock of run() is t0 + 1m

	r := run(context.Background(), nil, append([]string{"status"}, api...)...)
	if r.code != ExitOK || !strings.Contains(r.stderr, "warning: stale data: no contact with the Kubernetes API for 102s") {
		t.Errorf("status on stale data = %d, stderr %q; want 0 and a warning with the age", r.code, r.stderr)
	}
	r = run(context.Background(), nil, append([]string{"check"}, api...)...)
	if r.code != ExitSource || !strings.Contains(r.stderr, "stale data") || !strings.Contains(r.stderr, "--allow-stale") {
		t.Errorf("check on stale data = %d, stderr %q; want exit 3 naming --allow-stale", r.code, r.stderr)
	}
	if r := run(context.Background(), nil, append([]string{"check", "--allow-stale"}, api...)...); r.code != ExitOK {
		t.Errorf("check --allow-stale on stale data = %d %q, want 0", r.code, r.stderr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, "mwmctl", append([]string{"watch"}, api...),
			IO{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }, Now: time.Now})
	}()
	waitFor(t, &out, "stale      stale data: no contact with the Kubernetes API for")
	store.SetFreshness(false, time.Now())
	waitFor(t, &out, "fresh      contact with the Kubernetes API is back: updates resume")
	cancel()
	<-done
}
