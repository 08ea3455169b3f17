package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/mamrezb/maintenance-window-manager/internal/ofrep"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
	"github.com/mamrezb/maintenance-window-manager/internal/statuspage"
)

const (
	routeStatusPage = "/"
	routeServices   = "/services"
	routeService    = "/services/{namespace}/{name}"
	routeStatus     = "/status"
	routeEvents     = "/events"
	routeWindows    = "/windows"
)

// Routes are the paths the API serves with GET, as documented in docs/api.md and docs/openapi.yaml.
var Routes = []string{routeStatusPage, routeServices, routeService, routeStatus, routeEvents, routeWindows, ofrep.RouteEvents}

// PostRoutes are the paths the API serves with POST: the OFREP evaluations.
var PostRoutes = []string{ofrep.RouteBulk, ofrep.RouteFlag}

const (
	allowedMethods = "GET, HEAD, OPTIONS"
	postMethods    = "POST, OPTIONS"
	// preflightHeaders are the request headers browsers of allowed origins may send.
	preflightHeaders = "Accept, Accept-Encoding, Authorization, Cache-Control, Content-Type, If-None-Match, " +
		"Last-Event-ID, X-API-Key"
)

// HandlerOptions tune the handler; zero values take the defaults of the manager's flags.
type HandlerOptions struct {
	// CORSAllowedOrigins lists the origins browsers may call from; "*" allows any.
	CORSAllowedOrigins []string
	// SSEHeartbeat is the interval of the comment lines that keep idle streams open through proxies.
	SSEHeartbeat time.Duration
	// MaxStreams caps concurrent event streams; beyond it clients get 503 with Retry-After.
	MaxStreams int
	// WriteTimeout bounds each write: a whole response, or one event of a stream. A client slower than this is
	// disconnected instead of holding memory.
	WriteTimeout time.Duration
	// Stopping is closed when the server shuts down, to end open streams.
	Stopping <-chan struct{}
	// Clock tells which windows are upcoming (default: the real clock).
	Clock clock.PassiveClock
	// StatusPage serves the HTML status page at / (the manager's --api-status-page, on there by default); off, /
	// is an unknown path like any other.
	StatusPage bool
	// PathPrefix is where clients reach the API behind a proxy that strips it ("/mwm", --api-path-prefix), for the
	// OFREP event stream a bulk evaluation advertises when the proxy sends no X-Forwarded-Prefix.
	PathPrefix string
	Log        logr.Logger
}

type handler struct {
	store     *snapshot.Store
	ofrep     *ofrep.Service
	opts      HandlerOptions
	streams   atomic.Int64
	anyOrigin bool
	origins   map[string]bool
	page      http.Handler // nil when the status page is off
}

// NewHandler returns the API handler serving the snapshots of store.
func NewHandler(store *snapshot.Store, opts HandlerOptions) http.Handler {
	if opts.SSEHeartbeat <= 0 {
		opts.SSEHeartbeat = 15 * time.Second
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 1000
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Stopping == nil {
		opts.Stopping = make(chan struct{})
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	h := &handler{store: store, opts: opts, origins: map[string]bool{},
		ofrep: &ofrep.Service{Store: store, Clock: opts.Clock, PathPrefix: opts.PathPrefix}}
	if opts.StatusPage {
		h.page = statuspage.New(store, statuspage.Options{Clock: opts.Clock})
	}
	for _, o := range opts.CORSAllowedOrigins {
		if o == "*" {
			h.anyOrigin = true
		}
		h.origins[o] = true
	}
	return h
}

func (h *handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &headerTracker{ResponseWriter: rw}
	defer func() {
		p := recover()
		switch p {
		case nil:
			return
		case http.ErrAbortHandler: //nolint:errorlint // recover returns the value itself
			panic(p)
		}
		h.opts.Log.Error(nil, "panic serving the API", "path", r.URL.Path, "panic", p)
		if w.wroteHeader {
			// A status line already went out: a second one would corrupt the answer. Close the connection instead,
			// so the client sees a truncated response, never a wrong one.
			panic(http.ErrAbortHandler)
		}
		writeError(w, http.StatusInternalServerError, "internal error; the maintainers would like to hear about it")
	}()
	h.cors(w, r)
	// Bound the time to read the request (and any body net/http drains after us); streams clear it.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.WriteTimeout))

	if route, key, ok := ofrep.Match(r.URL.Path); ok {
		h.serveOFREP(w, r, route, key)
		return
	}
	route, namespace, name, ok := match(r.URL.Path)
	if route == routeStatusPage {
		if h.page == nil {
			writeError(w, http.StatusNotFound, "the status page is off on this replica (--api-status-page=false); "+
				"see /services, /status, /events and /windows")
			return
		}
		if r.Method == http.MethodOptions {
			h.preflight(w, r, allowedMethods)
			return
		}
		// The page reads its own parameters (and ignores the others): a human's link, not a client's query.
		h.page.ServeHTTP(w, r)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no such path: "+r.URL.Path+"; see /services, /status, /events, /windows "+
			"and /ofrep/v1/evaluate/flags")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.preflight(w, r, allowedMethods)
		return
	default:
		w.Header().Set("Allow", allowedMethods)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed; use GET")
		return
	}

	var err error
	query := r.URL.Query()
	kinds := defaultEventKinds
	switch route {
	case routeService:
		err = onlyParams(query, route, selection.ParamChecker)
	case routeWindows:
		err = onlyParams(query, route, selection.ParamChecker, selection.ParamNamespace)
	case routeEvents:
		kinds, err = parseEventKinds(query)
		query.Del(paramEvents)
	}
	var sel selection.Selection
	if err == nil {
		sel, err = selection.Parse(query)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	snap := h.store.Current()
	if snap == nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable,
			"this replica has not synced with the cluster yet and knows nothing; retry in a second")
		return
	}
	if sel.Checker != "" {
		if _, found := snap.Part(sel.Checker); !found {
			// Never an all clear for a ServiceChecker nobody checks: a typo must be loud.
			writeError(w, http.StatusNotFound, (&snapshot.CheckerNotFoundError{Checker: sel.Checker}).Error())
			return
		}
	}

	switch {
	case route == routeEvents || (route == routeServices && wantsEventStream(r)):
		h.stream(w, r, h.apiEvents(sel, kinds))
	case route == routeServices:
		h.serveList(w, r, snap, sel)
	case route == routeStatus:
		h.serveStatus(w, r, snap, sel)
	case route == routeWindows:
		h.serveWindows(w, r, snap, sel)
	default:
		h.serveOne(w, r, snap, sel.Checker, namespace, name)
	}
}

// onlyParams rejects the parameters a route does not take (_ is always accepted).
func onlyParams(q url.Values, route string, accepted ...string) error {
	for param := range q {
		if param != selection.ParamCacheBuster && !slices.Contains(accepted, param) {
			return fmt.Errorf("unknown parameter %q for %s; the accepted ones are %s (and _, ignored)", param, route,
				strings.Join(accepted, ", "))
		}
	}
	return nil
}

// match maps a path to its route; for a single Service it also returns the namespace and name.
func match(path string) (route, namespace, name string, ok bool) {
	switch path {
	case routeStatusPage, routeServices, routeStatus, routeEvents, routeWindows:
		return path, "", "", true
	}
	rest, found := strings.CutPrefix(path, "/services/")
	if !found {
		return "", "", "", false
	}
	namespace, name, found = strings.Cut(rest, "/")
	if !found || namespace == "" || name == "" || strings.Contains(name, "/") {
		return "", "", "", false
	}
	return routeService, namespace, name, true
}

func (h *handler) serveList(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, sel selection.Selection) {
	view, err := snap.SelectEncoded(sel) // everything, or one ServiceChecker: shared, gzipped once per snapshot
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	h.respond(w, r, snap.ETag(), view.JSON, view.Gzip)
}

// serveStatus answers /status from the (ServiceChecker, Service) verdicts in view: with checker=, that
// ServiceChecker's own, so another team's stricter ServiceChecker cannot put this frontend in maintenance. The body
// carries the replica's staleness, so its ETag is computed from the body itself: If-None-Match never hides a change
// of stale.
func (h *handler) serveStatus(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, sel selection.Selection) {
	body, err := statusBody(snap, sel, h.store.Freshness(), h.opts.Clock.Now())
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	h.respond(w, r, snapshot.ContentTag(body), body, nil)
}

// statusBody is the compact JSON of /status for a selection, as GET /status and the event stream's status events
// send it.
func statusBody(snap *snapshot.Snapshot, sel selection.Selection, fresh snapshot.Freshness, now time.Time) ([]byte, error) {
	summary, err := snap.Status(sel, now)
	if err != nil {
		return nil, err
	}
	return json.Marshal(summary.WithFreshness(fresh))
}

// serveWindows answers GET /windows: every window in view, whatever its phase.
func (h *handler) serveWindows(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, sel selection.Selection) {
	body, err := json.Marshal(snap.ListWindows(sel.Namespaces, sel.Checker))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode the windows: "+err.Error())
		return
	}
	h.respond(w, r, snap.ETag(), body, nil)
}

// serveOne answers /services/{namespace}/{name}: the merged entry, or with checker= that ServiceChecker's own.
func (h *handler) serveOne(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, checker, namespace, name string) {
	if checker != "" {
		view, _ := snap.Select(selection.Selection{Checker: checker, Services: []string{namespace + "/" + name}})
		if len(view.Entries) == 0 {
			writeError(w, http.StatusNotFound, "ServiceChecker "+checker+" does not list Service "+namespace+"/"+name)
			return
		}
		h.respond(w, r, snap.ETag(), view.EntryJSON[0], nil)
		return
	}
	all := snap.All()
	i, found := all.Lookup(namespace, name)
	if !found {
		writeError(w, http.StatusNotFound, "Service "+namespace+"/"+name+" is not watched by any ServiceChecker")
		return
	}
	h.respond(w, r, snap.ETag(), all.EntryJSON[i], nil)
}

// respond writes a JSON document with caching headers, honouring If-None-Match and Accept-Encoding. gzipped
// returns the body compressed once per snapshot, or is nil to compress on the fly when worthwhile.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, etag string, body []byte, gzipped func() []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", etag)
	hdr.Add("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if snapshot.AcceptsGzip(r.Header.Get("Accept-Encoding")) && (gzipped != nil || len(body) >= 1024) {
		if gzipped != nil {
			body = gzipped()
		} else {
			body = snapshot.Compress(body)
		}
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (h *handler) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	switch {
	case h.anyOrigin:
		w.Header().Set("Access-Control-Allow-Origin", "*")
	case h.origins[origin]:
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	default:
		w.Header().Add("Vary", "Origin")
		return
	}
	w.Header().Set("Access-Control-Expose-Headers", "ETag, Retry-After")
}

// preflight answers OPTIONS: a CORS preflight when the browser sent one, the allowed methods in any case. The
// OFREP evaluations take POST with Content-Type: application/json, which is not a CORS-safelisted header; behind an
// authenticating proxy, the OFREP providers' headers option sends Authorization or X-API-Key (OFREP's security
// schemes), which the browser sends only when the preflight allows them.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request, methods string) {
	w.Header().Set("Allow", methods)
	if r.Header.Get("Access-Control-Request-Method") != "" && w.Header().Get("Access-Control-Allow-Origin") != "" {
		w.Header().Set("Access-Control-Allow-Methods", methods)
		w.Header().Set("Access-Control-Allow-Headers", preflightHeaders)
		w.Header().Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// headerTracker remembers whether the status line was written, for the panic handler.
type headerTracker struct {
	http.ResponseWriter
	wroteHeader bool
}

func (t *headerTracker) WriteHeader(code int) {
	t.wroteHeader = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *headerTracker) Write(b []byte) (int, error) {
	t.wroteHeader = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flushes).
func (t *headerTracker) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// errorJSON is the documented error body {"error": msg}.
func errorJSON(msg string) []byte {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return body
}

func writeError(w http.ResponseWriter, code int, msg string) {
	body := errorJSON(msg)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("ETag")
	w.Header().Del("Content-Encoding")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// etagMatches implements the weak comparison of If-None-Match (RFC 9110, 13.1.2).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == want {
			return true
		}
	}
	return false
}

func wantsEventStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}
