package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
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

// apiEvents are the events of GET /events: `event: services` with the list of the selection and `event: status`
// with its /status answer, each when it changed.
func (h *handler) apiEvents(sel selection.Selection) events {
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
				out = append(out, fmt.Appendf(nil, "id: %d\nevent: services\ndata: %s\n\n", snap.Version, data))
				lastServices = data
			}
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
