package testutil

import (
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Releases serves a directory the way GitHub serves a repository's release assets, on a loopback port: a file
// written under Dir(tag) is downloaded from DownloadURL(tag)+"/"+file, and LatestURL()+"/"+file redirects (302) to
// the release last passed to Publish, or answers 404 before the first. The release scripts (hack/release) and
// helm and krew then run against it as they do against github.com.
type Releases struct {
	root   string
	server *httptest.Server

	mu     sync.Mutex
	latest string
}

// NewReleases starts serving root (which holds releases/download/<tag>/<file>); Close stops it.
func NewReleases(root string) *Releases {
	r := &Releases{root: root}
	files := http.FileServer(http.Dir(root))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /releases/latest/download/{file}", func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		latest := r.latest
		r.mu.Unlock()
		if latest == "" {
			http.Error(w, "Not Found: no release is published yet", http.StatusNotFound)
			return
		}
		http.Redirect(w, req, path.Join("/releases/download", latest, req.PathValue("file")), http.StatusFound)
	})
	mux.HandleFunc("GET /releases/download/", func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/") { // no directory listings: GitHub has none
			http.NotFound(w, req)
			return
		}
		files.ServeHTTP(w, req)
	})
	r.server = httptest.NewServer(mux)
	return r
}

// URL is the server's base URL, http://127.0.0.1:<port>.
func (r *Releases) URL() string { return r.server.URL }

// Dir is the directory whose files are the assets of the release tag.
func (r *Releases) Dir(tag string) string { return filepath.Join(r.root, "releases", "download", tag) }

// DownloadURL is where the assets of the release tag are downloaded from (no trailing slash).
func (r *Releases) DownloadURL(tag string) string { return r.server.URL + "/releases/download/" + tag }

// LatestURL redirects to the assets of the latest published release (no trailing slash).
func (r *Releases) LatestURL() string { return r.server.URL + "/releases/latest/download" }

// Publish makes tag the latest release, as publishing a GitHub release that is not a pre-release does.
func (r *Releases) Publish(tag string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latest = tag
}

// Close stops the server.
func (r *Releases) Close() { r.server.Close() }
