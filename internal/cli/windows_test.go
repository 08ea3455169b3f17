package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/testutil"
)

// window is a MaintenanceWindow of shop naming storefront, with the status the operator would write.
func window(name, title string, phase v1alpha1.MaintenanceWindowPhase, current *v1alpha1.Occurrence,
	next ...v1alpha1.Occurrence) v1alpha1.MaintenanceWindow {
	return v1alpha1.MaintenanceWindow{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
		Spec:   v1alpha1.MaintenanceWindowSpec{Checkers: []string{"storefront"}, Title: title},
		Status: v1alpha1.MaintenanceWindowStatus{Phase: phase, Current: current, Next: next}}
}

func occurrence(start, end time.Duration) v1alpha1.Occurrence {
	return v1alpha1.Occurrence{Start: metav1.NewTime(t0.Add(start)), End: ptr.To(metav1.NewTime(t0.Add(end)))}
}

// planned are windows in every phase at t0 + 1m (run()'s clock): db-upgrade active until 14:00, weekly-restart
// upcoming at 02:00 the next day (within its default announce of 24h) on checkout only.
func planned() []v1alpha1.MaintenanceWindow {
	active := occurrence(-time.Hour, 2*time.Hour)
	weekly := window("weekly-restart", "Weekly restart", v1alpha1.PhaseScheduled, nil,
		occurrence(14*time.Hour, 14*time.Hour+30*time.Minute), occurrence(182*time.Hour, 182*time.Hour+30*time.Minute))
	weekly.Spec.Services = []string{"checkout"}
	return []v1alpha1.MaintenanceWindow{
		window("db-upgrade", "Database upgrade", v1alpha1.PhaseActive, &active),
		weekly,
		window("last-week", "Last week's upgrade", v1alpha1.PhaseCompleted, nil),
		window("paused", "", v1alpha1.PhaseSuspended, nil),
		window("typo", "Minute 61", v1alpha1.PhaseInvalid, nil),
	}
}

func TestWindowsFromTheAPI(t *testing.T) {
	srv, store, ca := apiServer(t)
	publishWithWindows(t, store, true, planned()...)
	api := []string{"--api-url", srv.URL, "--api-ca-file", ca}

	r := run(context.Background(), nil, append([]string{"windows"}, api...)...)
	want := "WINDOW                PHASE       START                  END                    TITLE\n" +
		"shop/db-upgrade       Active      2026-11-25T11:00:00Z   2026-11-25T14:00:00Z   Database upgrade\n" +
		"shop/last-week        Completed   -                      -                      Last week's upgrade\n" +
		"shop/paused           Suspended   -                      -\n" +
		"shop/typo             Invalid     -                      -                      Minute 61\n" +
		"shop/weekly-restart   Scheduled   2026-11-26T02:00:00Z   2026-11-26T02:30:00Z   Weekly restart\n"
	if r.code != ExitOK || r.out != want || r.stderr != "" {
		t.Errorf("windows = %d\n%s\nwant\n%s\nstderr %q", r.code, r.out, want, r.stderr)
	}

	r = run(context.Background(), nil, append([]string{"windows", "-o", "json", "--checker", "shop/storefront"}, api...)...)
	var got, fromAPI []any
	if err := json.Unmarshal([]byte(r.out), &got); r.code != ExitOK || err != nil || len(got) != 5 {
		t.Fatalf("windows -o json = %d %q %q (%v), want exactly one JSON array of 5 windows", r.code, r.out, r.stderr, err)
	}
	resp, err := srv.Client().Get(srv.URL + "/windows?checker=shop/storefront")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err := json.Unmarshal(body, &fromAPI); resp.StatusCode != http.StatusOK || err != nil || !reflect.DeepEqual(got, fromAPI) {
		t.Errorf("windows -o json =\n%v\nwant GET /windows' objects\n%v", got, fromAPI)
	}

	r = run(context.Background(), nil, append([]string{"windows", "-o", "wide", "-n", "shop"}, api...)...)
	if r.code != ExitOK || !strings.Contains(r.out,
		"shop/weekly-restart   Scheduled   2026-11-26T02:00:00Z   2026-11-26T02:30:00Z   Weekly restart        "+
			"shop/storefront   shop/checkout   2026-12-03T02:00:00Z\n") {
		t.Errorf("windows -o wide = %d\n%s", r.code, r.out)
	}

	r = run(context.Background(), nil, append([]string{"windows", "-n", "other"}, api...)...)
	if r.code != ExitOK || r.out != "WINDOW   PHASE   START   END   TITLE\n" || !strings.Contains(r.stderr, "no MaintenanceWindow for -n other") {
		t.Errorf("windows -n other = %d %q %q, want the header and a hint", r.code, r.out, r.stderr)
	}
	r = run(context.Background(), nil, append([]string{"windows", "-o", "json", "-n", "other"}, api...)...)
	if r.code != ExitOK || r.out != "[]\n" || r.stderr != "" {
		t.Errorf("windows -o json -n other = %d %q %q, want exactly []", r.code, r.out, r.stderr)
	}
	r = run(context.Background(), nil, append([]string{"windows", "--checker", "shop/storfront"}, api...)...)
	if r.code != ExitSource || !strings.Contains(r.stderr, "ServiceChecker shop/storfront does not exist") {
		t.Errorf("windows --checker with a typo = %d %q, want exit 3", r.code, r.stderr)
	}
	r = run(context.Background(), nil, append([]string{"windows", "shop"}, api...)...)
	if r.code != ExitUsage {
		t.Errorf("windows with an argument = %d %q, want exit 2", r.code, r.stderr)
	}
}

func TestStatusAndCheckNameTheWindows(t *testing.T) {
	srv, store, ca := apiServer(t)
	publishWithWindows(t, store, true, planned()...)
	api := []string{"--api-url", srv.URL, "--api-ca-file", ca}

	r := run(context.Background(), nil, append([]string{"status"}, api...)...)
	want := "NAMESPACE   SERVICE    READY   CRITICAL   ENDPOINTS   SINCE\n" +
		"shop        checkout   yes     yes        0           60s\n" +
		"shop        search     yes     no         3           60s\n" +
		`2 services, all ready: in maintenance: window shop/db-upgrade "Database upgrade" until 14:00 UTC` + "\n" +
		`upcoming: window shop/weekly-restart "Weekly restart" from 2026-11-26 02:00 UTC until 2026-11-26 02:30 UTC ` +
		"(in 13h)\n"
	if r.code != ExitOK || r.out != want {
		t.Errorf("status during a window = %d\n%s\nwant\n%s", r.code, r.out, want)
	}
	r = run(context.Background(), nil, append([]string{"status", "-o", "json"}, api...)...)
	var entries []map[string]any
	if err := json.Unmarshal([]byte(r.out), &entries); err != nil || len(entries) != 2 || entries[0]["window"] != "shop/db-upgrade" {
		t.Errorf("status -o json = %q (%v), want only the entries, covered by shop/db-upgrade", r.out, err)
	}

	// check exits 1 during the window, and check --wait waits for its end.
	r = run(context.Background(), nil, append([]string{"check"}, api...)...)
	if r.code != ExitMaintenance || r.out != `2 services, all ready: in maintenance: window shop/db-upgrade "Database upgrade" until 14:00 UTC`+"\n" {
		t.Errorf("check during a window = %d %q", r.code, r.out)
	}
	over := planned()[1:]
	ended := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { defer close(ended); publishWithWindows(t, store, true, over...) })
	defer func() { <-ended }()
	r = run(context.Background(), nil, append([]string{"check", "--wait", "10s", "--interval", "100ms"}, api...)...)
	if r.code != ExitOK || !strings.HasPrefix(r.out, "2 services, all ready: in maintenance: window shop/db-upgrade") ||
		!strings.HasSuffix(r.out, "\n2 services, all ready: no maintenance\n") {
		t.Errorf("check --wait until the window ends = %d %q", r.code, r.out)
	}
}

func TestWatchPrintsWindowsStartingAndEnding(t *testing.T) {
	srv, store, ca := apiServer(t)
	windows := planned()
	publishWithWindows(t, store, true, windows...)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, "mwmctl", []string{"watch", "--api-url", srv.URL, "--api-ca-file", ca},
			IO{Out: &out, Err: &errOut, Getenv: func(string) string { return "" }, Now: time.Now})
	}()
	waitFor(t, &out, `window-active  shop/db-upgrade                   "Database upgrade"  until 2026-11-25 14:00 UTC  checkers=shop/storefront`)

	publishWithWindows(t, store, true, windows[1:]...)
	waitFor(t, &out, `window-ended  shop/db-upgrade                   "Database upgrade"  checkers=shop/storefront`)
	waitFor(t, &out, "changed    shop/checkout")

	manual := window("storefront-manual-x7k2p", "", v1alpha1.PhaseActive, &v1alpha1.Occurrence{Start: metav1.NewTime(t0)})
	publishWithWindows(t, store, true, append(windows[1:], manual)...)
	waitFor(t, &out, "window-started  shop/storefront-manual-x7k2p      open-ended  checkers=shop/storefront")
	waitFor(t, &out, "window=shop/storefront-manual-x7k2p")

	srv.CloseClientConnections() // a reconnect re-learns the windows: no line for a window still active
	waitFor(t, &errOut, "connection lost")
	publishWithWindows(t, store, false, append(windows[1:], manual)...)
	waitFor(t, &out, "not-ready  shop/checkout")
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("watch ended with %d", code)
	}
	for _, line := range []string{"window-active", "window-started", "window-ended"} {
		if n := strings.Count(out.String(), line); n != 1 {
			t.Errorf("%d %s lines, want 1:\n%s", n, line, out.String())
		}
	}
}
