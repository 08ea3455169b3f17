package testutil

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestReleasesServesAssetsAndRedirectsLatest(t *testing.T) {
	r := NewReleases(t.TempDir())
	defer r.Close()
	for _, tag := range []string{"v0.1.0", "v0.2.0"} {
		if err := os.MkdirAll(r.Dir(tag), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.Dir(tag), "index.yaml"), []byte(tag), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}

	if code, _ := get(r.LatestURL() + "/index.yaml"); code != http.StatusNotFound {
		t.Errorf("latest before any Publish: HTTP %d, want 404 (what the release scripts take for a first release)", code)
	}
	if code, body := get(r.DownloadURL("v0.1.0") + "/index.yaml"); code != http.StatusOK || body != "v0.1.0" {
		t.Errorf("v0.1.0's asset: HTTP %d %q, want 200 \"v0.1.0\"", code, body)
	}
	r.Publish("v0.1.0")
	r.Publish("v0.2.0")
	if code, body := get(r.LatestURL() + "/index.yaml"); code != http.StatusOK || body != "v0.2.0" {
		t.Errorf("latest after Publish(v0.2.0): HTTP %d %q, want 200 \"v0.2.0\" through the redirect", code, body)
	}
	if code, _ := get(r.DownloadURL("v0.1.0") + "/"); code != http.StatusNotFound {
		t.Errorf("a release's directory: HTTP %d, want 404 (no listings)", code)
	}
	if code, _ := get(r.DownloadURL("v0.1.0") + "/missing.tgz"); code != http.StatusNotFound {
		t.Errorf("a missing asset: HTTP %d, want 404", code)
	}
}
