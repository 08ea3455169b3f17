package statuspage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"k8s.io/utils/clock"

	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

//go:embed assets/page.html assets/page.css assets/page.js
var assets embed.FS

var (
	style  = mustRead("assets/page.css")
	script = mustRead("assets/page.js")
	// ContentSecurityPolicy allows exactly the page's own inline style and script (by their hashes, never
	// 'unsafe-inline'), requests to its own origin only (the event stream and the page itself), and nothing else.
	ContentSecurityPolicy = "default-src 'none'; script-src " + hash(script) + "; style-src " + hash(style) +
		"; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	page = template.Must(template.New("page.html").Funcs(template.FuncMap{
		"iso":       func(t any) string { return format(t, time.RFC3339) },
		"utc":       func(t any) string { return format(t, "2006-01-02 15:04 UTC") },
		"stateWord": stateWord,
	}).ParseFS(assets, "assets/page.html"))
)

func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// hash is a CSP source expression allowing one inline element with exactly this content.
func hash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// format writes a time (or *time.Time) in UTC; the page's script rewrites it in the viewer's zone.
func format(t any, layout string) string {
	switch v := t.(type) {
	case time.Time:
		return v.UTC().Format(layout)
	case *time.Time:
		if v != nil {
			return v.UTC().Format(layout)
		}
	}
	return ""
}

func stateWord(state string) string {
	switch state {
	case StateMaintenance:
		return "Maintenance"
	case StateStale:
		return "Stale"
	}
	return "Operational"
}

// Options tune the page.
type Options struct {
	// Clock tells which windows are upcoming (default: the real clock).
	Clock clock.PassiveClock
}

// New returns the handler of the page, answering GET and HEAD (the caller routes only / to it).
func New(store *snapshot.Store, opts Options) http.Handler {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &handler{store: store, clock: opts.Clock}
}

type handler struct {
	store *snapshot.Store
	clock clock.PassiveClock
}

// view is the template's data: the page, or an error (with a scope naming what was asked for).
type view struct {
	Page  Page
	Error string
	Scope string
	// Retry, in seconds, reloads the page by itself (while the replica has not synced).
	Retry        int
	Style        template.CSS
	Script       template.JS
	statusCode   int
	retryHeaders bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" is not allowed on the status page; use GET", http.StatusMethodNotAllowed)
		return
	}
	v := h.view(r)
	v.Style, v.Script = template.CSS(style), template.JS(script)
	var body bytes.Buffer
	if err := page.Execute(&body, v); err != nil {
		http.Error(w, "render the status page: "+err.Error()+"; the maintainers would like to hear about it",
			http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("Cache-Control", "no-store") // a status page from a cache is a wrong status page
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Add("Vary", "Accept-Encoding")
	out := body.Bytes()
	// The page is rendered per request (it carries the viewer's selection and the replica's staleness), and about
	// three quarters of it is markup that repeats per Service: gzip takes a page of 50 Services from about 40 KB to
	// under 5 KB.
	if snapshot.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		out = snapshot.Compress(out)
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	if v.retryHeaders {
		hdr.Set("Retry-After", strconv.Itoa(v.Retry))
	}
	w.WriteHeader(v.statusCode)
	if r.Method != http.MethodHead {
		_, _ = w.Write(out)
	}
}

// view decides what to render: the page of the query's selection, or why there is none.
func (h *handler) view(r *http.Request) view {
	sel, err := Selection(r.URL.Query())
	if err != nil {
		return view{Error: "This link asks for something the status page cannot show: " + err.Error() + ".",
			Scope: "bad link", statusCode: http.StatusBadRequest}
	}
	snap := h.store.Current()
	if snap == nil {
		return view{Error: "This replica has not synced with the cluster yet and knows nothing; the page reloads " +
			"in 2 seconds.", Scope: "starting", Retry: 2, retryHeaders: true, statusCode: http.StatusServiceUnavailable}
	}
	p, err := Build(snap, sel, h.store.Freshness(), h.clock.Now())
	if notFound := (*snapshot.CheckerNotFoundError)(nil); errors.As(err, &notFound) {
		return view{Error: notFound.Error() + ".", Scope: "ServiceChecker " + sel.Checker,
			statusCode: http.StatusNotFound}
	}
	if err != nil {
		return view{Error: "The status could not be computed: " + err.Error() + ".", Scope: scope(sel),
			statusCode: http.StatusInternalServerError}
	}
	return view{Page: p, statusCode: http.StatusOK}
}
