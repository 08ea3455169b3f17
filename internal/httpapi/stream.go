package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

// events returns what a stream sends after waking up on snap: the events (none when nothing changed for this
// client), and whether the stream ends after them.
type events func(snap *snapshot.Snapshot) (out [][]byte, end bool)

// stream serves Server-Sent Events: next's events at connect and again whenever a snapshot is published or the
// replica's staleness changes, and heartbeat comments in between. Every write has a deadline: a client that does not
// keep up is disconnected, and since it only ever holds a reference to the current immutable snapshot, it cannot
// hold memory or slow other clients.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, next events) {
	if n := h.streams.Add(1); n > int64(h.opts.MaxStreams) {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable,
			"too many open event streams on this replica (limit "+strconv.Itoa(h.opts.MaxStreams)+"); retry later or poll GET /services")
		return
	}
	defer h.streams.Add(-1)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // a stream lives as long as the client reads it
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // tell nginx-style proxies not to buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}

	heartbeat := time.NewTicker(h.opts.SSEHeartbeat)
	defer heartbeat.Stop()
	for {
		changed := h.store.Changed() // taken before Current, so no publish in between is missed
		out, end := next(h.store.Current())
		for _, event := range out {
			if !h.write(rc, w, event) {
				return
			}
		}
		if end {
			return
		}
		select {
		case <-changed:
		case <-heartbeat.C:
			if !h.write(rc, w, []byte(": heartbeat\n\n")) {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.opts.Stopping:
			return
		}
	}
}

// The event types of GET /events, which its events= parameter selects (services and status when absent).
const (
	paramEvents = "events"
	// eventServices carries the selection's whole list: about 500 bytes per Service, for clients that keep a copy.
	eventServices = "services"
	// eventStatus carries the /status answer.
	eventStatus = "status"
	// eventChanged carries only the content tag of the list, for clients that re-fetch what they show (the status
	// page): its size does not grow with the cluster.
	eventChanged = "changed"
)

// eventKinds are the event types a stream sends.
type eventKinds struct{ services, status, changed bool }

var defaultEventKinds = eventKinds{services: true, status: true}

// parseEventKinds reads events=services,status,changed (any non-empty subset, once).
func parseEventKinds(q url.Values) (eventKinds, error) {
	v, ok := q[paramEvents]
	if !ok {
		return defaultEventKinds, nil
	}
	usage := "; give a comma-separated list of " + eventServices + ", " + eventStatus + " and " + eventChanged +
		", e.g. events=" + eventStatus + "," + eventChanged + ", or leave events out for " + eventServices + " and " +
		eventStatus
	if len(v) != 1 {
		return eventKinds{}, fmt.Errorf("parameter events is given %d times%s", len(v), usage)
	}
	var k eventKinds
	for _, kind := range strings.Split(v[0], ",") {
		switch strings.TrimSpace(kind) {
		case eventServices:
			k.services = true
		case eventStatus:
			k.status = true
		case eventChanged:
			k.changed = true
		default:
			return eventKinds{}, fmt.Errorf("parameter events: unknown event type %q%s", kind, usage)
		}
	}
	return k, nil
}

// apiEvents are the events of GET /events that kinds selects: `event: services` with the list of the selection,
// `event: changed` with its content tag, each when the list changed, and `event: status` with its /status answer
// when that changed.
func (h *handler) apiEvents(sel selection.Selection, kinds eventKinds) events {
	var lastServices, lastStatus []byte
	var lastVersion uint64 // versions start at 1
	return func(snap *snapshot.Snapshot) ([][]byte, bool) {
		if sel.Checker != "" {
			if _, found := snap.Part(sel.Checker); !found {
				// The ServiceChecker was deleted: its answer is unknown from now on. Say so and end the stream; a
				// reconnecting EventSource then gets 404 and stops, instead of a page keeping its last verdict.
				return [][]byte{fmt.Appendf(nil, "event: error\ndata: %s\n\n",
					errorJSON((&snapshot.CheckerNotFoundError{Checker: sel.Checker}).Error()))}, true
			}
		}
		var out [][]byte
		if snap.Version != lastVersion { // a heartbeat wakes us without a new snapshot: nothing to filter then
			lastVersion = snap.Version
			if data := viewJSON(snap, sel); !bytes.Equal(data, lastServices) {
				if kinds.services {
					out = append(out, fmt.Appendf(nil, "id: %d\nevent: services\ndata: %s\n\n", snap.Version, data))
				}
				if kinds.changed {
					out = append(out, fmt.Appendf(nil, "id: %d\nevent: changed\ndata: %s\n\n", snap.Version,
						snapshot.ContentTag(data)))
				}
				lastServices = data
			}
		}
		if !kinds.status {
			return out, false
		}
		// The status changes with the snapshot and with the replica's staleness, which wakes us too.
		if data, err := statusBody(snap, sel, h.store.Freshness(), h.opts.Clock.Now()); err == nil &&
			!bytes.Equal(data, lastStatus) {
			out = append(out, fmt.Appendf(nil, "event: status\ndata: %s\n\n", data))
			lastStatus = data
		}
		return out, false
	}
}

// viewJSON is the JSON array of a selection (whose ServiceChecker, if any, exists: checked by the caller).
func viewJSON(snap *snapshot.Snapshot, sel selection.Selection) []byte {
	view, _ := snap.SelectEncoded(sel) // the checker was found above
	return view.JSON
}

func (h *handler) write(rc *http.ResponseController, w http.ResponseWriter, b []byte) bool {
	if err := rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout)); err != nil {
		return false
	}
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}
