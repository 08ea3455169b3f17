package httpapi

import (
	"net/http"
	"strconv"

	"github.com/mamrezb/maintenance-window-manager/internal/ofrep"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// serveOFREP serves the OpenFeature Remote Evaluation Protocol's routes with the answers of internal/ofrep: the
// evaluations take POST (a CORS preflight precedes them in a browser), the event stream GET.
func (h *handler) serveOFREP(w http.ResponseWriter, r *http.Request, route, key string) {
	methods, use := postMethods, http.MethodPost
	if route == ofrep.RouteEvents {
		methods, use = allowedMethods, http.MethodGet
	}
	switch {
	case r.Method == http.MethodOptions:
		h.preflight(w, r, methods)
		return
	case route == ofrep.RouteEvents && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		next, fail := h.ofrep.Refetches(r)
		if fail != nil {
			h.writeOFREP(w, r, *fail)
			return
		}
		h.stream(w, r, func(snap *snapshot.Snapshot) ([][]byte, bool) {
			if event := next(snap); event != nil {
				return [][]byte{event}, false
			}
			return nil, false
		})
		return
	case route != ofrep.RouteEvents && r.Method == http.MethodPost:
	default:
		w.Header().Set("Allow", methods)
		h.writeOFREP(w, r, ofrep.Answer{Status: http.StatusMethodNotAllowed,
			Body: ofrep.ErrorBody("method " + r.Method + " is not allowed on " + route + "; use " + use)})
		return
	}
	if route == ofrep.RouteBulk {
		h.writeOFREP(w, r, h.ofrep.Bulk(r))
		return
	}
	h.writeOFREP(w, r, h.ofrep.Flag(r, key))
}

// writeOFREP sends an answer: a bulk evaluation with its entity tag through respond (If-None-Match answers 304),
// anything else as it is, never cached.
func (h *handler) writeOFREP(w http.ResponseWriter, r *http.Request, a ofrep.Answer) {
	if a.Status == http.StatusOK && a.ETag != "" {
		h.respond(w, r, a.ETag, a.Body, nil)
		return
	}
	hdr := w.Header()
	if a.RetryAfter != "" {
		hdr.Set("Retry-After", a.RetryAfter)
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
