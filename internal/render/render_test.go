package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// Regenerate with: go test ./internal/render -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var entries = []snapshot.Entry{
	{Name: "my-service", Namespace: "default", Ready: true, Critical: true, ReadyEndpoints: 2, Reason: "Ready",
		Since: now.Add(-3*time.Hour - 12*time.Minute), Checkers: []string{"default/example-checker"}},
	{Name: "checkout", Namespace: "shop", Ready: false, Critical: true, Maintenance: true, ReadyEndpoints: 0, Reason: "NoReadyEndpoints",
		Since: now.Add(-42 * time.Second), Checkers: []string{"ops/oncall", "shop/storefront"}},
	{Name: "recommendations", Namespace: "shop", Ready: false, ReadyEndpoints: 1, Reason: "NotEnoughReadyEndpoints",
		Since: now.Add(-26 * time.Hour), Checkers: []string{"shop/storefront"}},
}

// status is /status for entries.
var status = snapshot.Summary{Services: 3, Ready: 1, Maintenance: true, CriticalNotReady: []string{"shop/checkout"}}

func TestGolden(t *testing.T) {
	tests := []struct {
		name    string
		entries []snapshot.Entry
		format  Format
		color   bool
	}{
		{"table", entries, Table, false},
		{"wide", entries, Wide, false},
		{"json", entries, JSON, false},
		{"yaml", entries, YAML, false},
		{"table-color", entries, Table, true},
		{"empty-table", nil, Table, false},
		{"empty-json", nil, JSON, false},
		{"table-windows", entries, Table, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			st := status
			if tt.entries == nil {
				st = snapshot.Summary{}
			}
			if tt.name == "table-windows" {
				st.Windows = windowsNow
			}
			if err := Services(&buf, tt.entries, Options{Format: tt.format, Color: tt.color, Now: now, Status: st}); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

// windowsNow has an active window and an upcoming one, as /status lists them.
var windowsNow = snapshot.Windows{
	Active: []snapshot.WindowBrief{{Name: "shop/db-upgrade", Title: "Database upgrade", Start: now.Add(-time.Hour),
		End: ptr(now.Add(2 * time.Hour)), Checkers: []string{"shop/storefront"}, Services: []string{}}},
	Upcoming: []snapshot.WindowBrief{{Name: "shop/weekly-restart", Title: "Weekly restart",
		Start: now.Add(14 * time.Hour), End: ptr(now.Add(14*time.Hour + 30*time.Minute)),
		Checkers: []string{"shop/storefront"}, Services: []string{"shop/checkout"}}},
}

func ptr[T any](v T) *T { return &v }

func TestWindows(t *testing.T) {
	list := []snapshot.Window{
		{Name: "shop/db-upgrade", Phase: "Active", Title: "Database upgrade", Checkers: []string{"shop/storefront"},
			Services: []string{}, Current: &snapshot.Occurrence{Start: now.Add(-time.Hour), End: ptr(now.Add(2 * time.Hour))},
			Next: []snapshot.Occurrence{}},
		{Name: "shop/old", Phase: "Completed", Checkers: []string{"shop/storefront"}, Services: []string{},
			Next: []snapshot.Occurrence{}},
		{Name: "shop/storefront-manual-x7k2p", Phase: "Active", Checkers: []string{"shop/storefront"}, Services: []string{},
			Current: &snapshot.Occurrence{Start: now.Add(-time.Minute)}, Next: []snapshot.Occurrence{}},
		{Name: "shop/typo", Phase: "Invalid", Title: "Minute 61", Checkers: []string{"shop/storefront"},
			Services: []string{}, Next: []snapshot.Occurrence{}},
		{Name: "shop/weekly-restart", Phase: "Scheduled", Title: "Weekly restart", Checkers: []string{"shop/storefront"},
			Services: []string{"shop/checkout"}, Next: []snapshot.Occurrence{
				{Start: now.Add(14 * time.Hour), End: ptr(now.Add(14*time.Hour + 30*time.Minute))},
				{Start: now.Add(182 * time.Hour), End: ptr(now.Add(182*time.Hour + 30*time.Minute))}}},
	}
	for _, f := range []Format{Table, Wide, JSON, YAML} {
		var buf bytes.Buffer
		if err := Windows(&buf, list, Options{Format: f, Now: now}); err != nil {
			t.Fatal(err)
		}
		golden(t, "windows-"+map[Format]string{Table: "table", Wide: "wide", JSON: "json", YAML: "yaml"}[f], buf.Bytes())
	}
	var buf bytes.Buffer
	if err := Windows(&buf, nil, Options{Format: JSON}); err != nil || buf.String() != "[]\n" {
		t.Errorf("no windows as JSON = %q, %v; want []", buf.String(), err)
	}
}

func TestWindowLines(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []WindowChange{
		{Time: now, Kind: ChangeWindowActive, WindowBrief: windowsNow.Active[0]},
		{Time: now.Add(time.Second), Kind: ChangeWindowStarted, WindowBrief: snapshot.WindowBrief{
			Name: "shop/storefront-manual-x7k2p", Start: now, Checkers: []string{"shop/storefront"}, Services: []string{}}},
		{Time: now.Add(2 * time.Hour), Kind: ChangeWindowEnded, WindowBrief: windowsNow.Active[0]},
	} {
		for _, asJSON := range []bool{false, true} {
			if err := WindowLine(&buf, c, asJSON); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden(t, "watch-windows", buf.Bytes())
}

func TestWatchLines(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []Change{
		{Time: now, Kind: ChangeInitial, Entry: entries[0]},
		{Time: now.Add(time.Second), Kind: ChangeNotReady, Entry: entries[1]},
		{Time: now.Add(2 * time.Second), Kind: ChangeRemoved, Entry: entries[2]},
	} {
		if err := WatchLine(&buf, c, false, false); err != nil {
			t.Fatal(err)
		}
		if err := WatchLine(&buf, c, true, false); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "watch", buf.Bytes())
}

func TestSummaryAndFormats(t *testing.T) {
	end := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	dbUpgrade := snapshot.WindowBrief{Name: "shop/db-upgrade", Title: "Database upgrade", Start: now, End: &end}
	manual := snapshot.WindowBrief{Name: "shop/storefront-manual-x7k2p", Start: now}
	tomorrow := time.Date(2026, 11, 26, 4, 30, 15, 0, time.UTC)
	search := snapshot.WindowBrief{Name: "shop/reindex", Title: "Reindex", Start: now, End: &tomorrow,
		Services: []string{"shop/recommendations"}}
	reindexCheckout := snapshot.WindowBrief{Name: "shop/checkout-restart", Title: "Restart", Start: now, End: &end,
		Services: []string{"shop/checkout"}}
	for _, tt := range []struct {
		name string
		in   snapshot.Summary
		want string
	}{
		{"critical not ready", status, "3 services, 1 critical not ready: maintenance (shop/checkout)"},
		{"one ready", snapshot.Summary{Services: 1, Ready: 1}, "1 service, all ready: no maintenance"},
		{"not ready, not critical", snapshot.Summary{Services: 2, Ready: 1},
			"2 services, 1 not ready, none in maintenance: no maintenance"},
		{"window", snapshot.Summary{Services: 2, Ready: 2, Maintenance: true,
			Windows: snapshot.Windows{Active: []snapshot.WindowBrief{dbUpgrade}}},
			`2 services, all ready: in maintenance: window shop/db-upgrade "Database upgrade" until 14:00 UTC`},
		{"window and critical not ready", snapshot.Summary{Services: 3, Ready: 1, Maintenance: true,
			CriticalNotReady: []string{"shop/checkout"}, Windows: snapshot.Windows{Active: []snapshot.WindowBrief{dbUpgrade, manual}}},
			`3 services, 1 critical not ready: in maintenance: shop/checkout; window shop/db-upgrade "Database upgrade" ` +
				`until 14:00 UTC; window shop/storefront-manual-x7k2p open-ended`},
		{"a window causing maintenance, another not", snapshot.Summary{Services: 3, Ready: 1, Maintenance: true,
			Windows: snapshot.Windows{Active: []snapshot.WindowBrief{search, reindexCheckout}}},
			`3 services, 2 not ready: in maintenance: window shop/checkout-restart "Restart" until 14:00 UTC; window ` +
				`shop/reindex "Reindex" until 2026-11-26 04:30:15 UTC covers no critical Service`},
		{"window on Services that are not critical", snapshot.Summary{Services: 2, Ready: 1,
			Windows: snapshot.Windows{Active: []snapshot.WindowBrief{search}}},
			`2 services, 1 not ready: no maintenance (window shop/reindex "Reindex" until 2026-11-26 04:30:15 UTC ` +
				`covers no critical Service)`},
	} {
		if got := Summary(tt.in, entries, now); got != tt.want {
			t.Errorf("%s: Summary =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
	pending := snapshot.Summary{Services: 1, Pending: []snapshot.PendingService{{Service: "shop/checkout",
		Until: time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)}}}
	if got := Summary(pending, nil, now); got != "1 service, 1 not ready, none in maintenance: no maintenance; "+
		"1 critical pending (grace period): shop/checkout until 12:00:30 UTC" {
		t.Errorf("Summary within a grace period = %q", got)
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "-o") {
		t.Errorf("ParseFormat(xml) = %v, want an error naming -o", err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test ./internal/render -update rewrites it):\n--- got\n%s\n--- want\n%s",
			name, path, got, want)
	}
}
