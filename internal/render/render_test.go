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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			st := status
			if tt.entries == nil {
				st = snapshot.Summary{}
			}
			if err := Services(&buf, tt.entries, Options{Format: tt.format, Color: tt.color, Now: now, Status: st}); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
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
	if got := Summary(status); got != "3 services, 1 critical not ready: maintenance (shop/checkout)" {
		t.Errorf("Summary = %q", got)
	}
	if got := Summary(snapshot.Summary{Services: 1, Ready: 1}); got != "1 service, all ready: no maintenance" {
		t.Errorf("Summary of one ready = %q", got)
	}
	windowed := snapshot.Summary{Services: 2, Ready: 2, Maintenance: true,
		Windows: snapshot.Windows{Active: []snapshot.WindowBrief{{Name: "shop/db-upgrade"}}}}
	if got := Summary(windowed); got != "2 services, 0 not ready: maintenance (window shop/db-upgrade)" {
		t.Errorf("Summary during a window = %q", got)
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
