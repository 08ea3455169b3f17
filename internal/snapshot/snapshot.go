package snapshot

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
)

// Summary is the one-flag answer of GET /status.
type Summary struct {
	Maintenance      bool     `json:"maintenance"`
	CriticalNotReady []string `json:"criticalNotReady"`
	// Pending are the critical Services not ready but within their grace period: not in CriticalNotReady, and not
	// putting the answer in maintenance until Until. Always present, empty when none.
	Pending  []PendingService `json:"pending"`
	Services int              `json:"services"`
	Ready    int              `json:"ready"`
	Updated  time.Time        `json:"updated"`
	// Windows are the active and upcoming MaintenanceWindows of the ServiceCheckers in view.
	Windows Windows `json:"windows"`
	// Stale is true when the replica has had no confirmed contact with the Kubernetes API server for longer than
	// --stale-after; StaleSince is then the time of the last confirmation.
	Stale      bool       `json:"stale"`
	StaleSince *time.Time `json:"staleSince,omitempty"`
}

// PendingService is a critical Service not ready within its grace period.
type PendingService struct {
	// Service is "<namespace>/<name>".
	Service string `json:"service"`
	// Until is when its grace period ends (UTC, whole seconds).
	Until time.Time `json:"until"`
}

// WithFreshness returns the summary with the replica's staleness.
func (s Summary) WithFreshness(f Freshness) Summary {
	s.Stale = f.Stale
	s.StaleSince = nil
	if f.Stale {
		since := f.Since
		s.StaleSince = &since
	}
	return s
}

// Summarize computes the /status answer for the entries of one view (windows apart); updated is when the data last
// changed. A Service counts as ready when its entry is (every ServiceChecker in view judges it ready). The answer is
// in maintenance when an entry counts (a ServiceChecker in view marks it critical and its own verdict is not ready,
// or an active window covers it and it is critical or the window covers its ServiceChecker whole);
// criticalNotReady lists the critical Services that are not ready past their grace period, pending those within it.
func Summarize(entries []Entry, updated time.Time) Summary {
	s := Summary{CriticalNotReady: []string{}, Pending: []PendingService{}, Services: len(entries),
		Updated: updated.UTC().Truncate(time.Second),
		Windows: Windows{Active: []WindowBrief{}, Upcoming: []WindowBrief{}}}
	for i := range entries {
		e := &entries[i]
		if e.Ready {
			s.Ready++
		}
		s.Maintenance = s.Maintenance || e.counts
		if e.criticalDown {
			s.CriticalNotReady = append(s.CriticalNotReady, e.Key())
		} else if e.GraceUntil != nil {
			s.Pending = append(s.Pending, PendingService{Service: e.Key(), Until: *e.GraceUntil})
		}
	}
	return s
}

// Encoded is a JSON document, its entity tag and, computed on first use, its gzip encoding.
type Encoded struct {
	JSON []byte
	// ETag is a weak entity tag derived from the content only (not the version or build time), so replicas
	// holding the same data agree on it.
	ETag     string
	gzipOnce sync.Once
	gzipped  []byte
}

// Gzip returns the gzip encoding, compressing it the first time only.
func (e *Encoded) Gzip() []byte {
	e.gzipOnce.Do(func() { e.gzipped = Compress(e.JSON) })
	return e.gzipped
}

// gzipWriters keeps compressors between uses: a new one allocates about 1.4 MB of state (make bench's heap profile),
// more than most answers it compresses.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// ContentTag is a weak entity tag of a document's content: replicas holding the same data agree on it, whatever
// their snapshot versions.
func ContentTag(doc []byte) string {
	sum := sha256.Sum256(doc)
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}

// AcceptsGzip tells whether a request's Accept-Encoding header takes gzip (with a weight above 0), for the answers
// that send Compress's encoding.
func AcceptsGzip(acceptEncoding string) bool {
	for _, part := range strings.Split(acceptEncoding, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !found {
			return true
		}
		weight, err := strconv.ParseFloat(q, 64)
		return err == nil && weight > 0
	}
	return false
}

// Compress gzips a document at a fast level: answers are small JSON, and a replica compresses each at most once per
// snapshot.
func Compress(doc []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(doc)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(doc)
	_ = zw.Close()
	zw.Reset(nil) // drop the reference to buf before pooling
	gzipWriters.Put(zw)
	return buf.Bytes()
}

// Snapshot is an immutable set of Parts, one per ServiceChecker, with the merged view of all of them computed on
// first use. Readers must not modify anything reachable from it.
type Snapshot struct {
	// Version increases by one with every published snapshot of a Store.
	Version uint64
	// Updated is when the data last changed.
	Updated time.Time

	parts   map[string]*Part
	windows map[string]*Window

	etagOnce sync.Once
	etag     string
	allOnce  sync.Once
	all      *Merged
	// selected holds the encoded views of single ServiceCheckers asked for, by checker (SelectEncoded).
	selected sync.Map
}

// Merged is the view of every ServiceChecker: one entry per Service.
type Merged struct {
	View
	// Services is the JSON array of all entries.
	Services *Encoded
	// Summary of every Service (fresh; the API adds the replica's staleness per request).
	Summary Summary
	index   map[string]int
}

// New returns a snapshot of parts (keyed by Part.Checker) and windows (keyed by Window.Name), which it takes
// ownership of.
func New(parts map[string]*Part, windows map[string]*Window, version uint64, updated time.Time) *Snapshot {
	if windows == nil {
		windows = map[string]*Window{}
	}
	return &Snapshot{Version: version, Updated: updated, parts: parts, windows: windows}
}

// Build computes a snapshot from ServiceCheckers, a Part for each.
func Build(checkers []v1alpha1.ServiceChecker, version uint64, updated time.Time) (*Snapshot, error) {
	return BuildWithWindows(checkers, nil, version, updated)
}

// BuildWithWindows computes a snapshot from ServiceCheckers and MaintenanceWindows.
func BuildWithWindows(checkers []v1alpha1.ServiceChecker, windows []v1alpha1.MaintenanceWindow, version uint64,
	updated time.Time) (*Snapshot, error) {
	parts := make(map[string]*Part, len(checkers))
	for i := range checkers {
		p, err := NewPart(&checkers[i])
		if err != nil {
			return nil, err
		}
		parts[p.Checker] = p
	}
	ws := make(map[string]*Window, len(windows))
	for i := range windows {
		w := NewWindow(&windows[i])
		ws[w.Name] = w
	}
	return New(parts, ws, version, updated), nil
}

// Windows returns a copy of the windows map, for building the next snapshot.
func (s *Snapshot) Windows() map[string]*Window {
	out := make(map[string]*Window, len(s.windows)+1)
	for k, w := range s.windows {
		out[k] = w
	}
	return out
}

// counts decides whether one ServiceChecker's entry puts its view in maintenance, with the windows in mind.
func (s *Snapshot) counts(e *Entry) bool {
	if e.counts {
		return true
	}
	if e.Window == "" {
		return false
	}
	w, ok := s.windows[e.Window]
	return e.Critical || ok && w.Whole()
}

// Part returns the verdicts of the ServiceChecker "<namespace>/<name>".
func (s *Snapshot) Part(checker string) (*Part, bool) {
	p, ok := s.parts[checker]
	return p, ok
}

// Parts returns a copy of the parts map, for building the next snapshot.
func (s *Snapshot) Parts() map[string]*Part {
	out := make(map[string]*Part, len(s.parts)+1)
	for k, p := range s.parts {
		out[k] = p
	}
	return out
}

// ETag is a weak entity tag of the whole snapshot, derived from its content only. It also stands for every view
// and single entry: they cannot change while it does not.
func (s *Snapshot) ETag() string {
	s.etagOnce.Do(func() {
		keys := s.checkers()
		h := sha256.New()
		for _, k := range keys {
			h.Write(s.parts[k].hash[:])
		}
		windows := make([]string, 0, len(s.windows))
		for k := range s.windows {
			windows = append(windows, k)
		}
		sort.Strings(windows)
		for _, k := range windows {
			h.Write(s.windows[k].hash[:])
		}
		s.etag = `W/"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
	})
	return s.etag
}

func (s *Snapshot) checkers() []string {
	keys := make([]string, 0, len(s.parts))
	for k := range s.parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// All returns the merged view of every ServiceChecker, computing it on first use. A Service listed by several
// ServiceCheckers appears once: critical if any marks it critical, ready only if every one judges it ready, in
// maintenance if any marks it critical and judges it not ready past its grace period (else, within one, the earliest
// graceUntil), the reason of the first not-ready ServiceChecker (in
// "<namespace>/<name>" order), the fewest ready endpoints and the latest transition time.
func (s *Snapshot) All() *Merged {
	s.allOnce.Do(func() { s.all = s.merge() })
	return s.all
}

func (s *Snapshot) merge() *Merged {
	byKey := map[string]*Entry{}
	single := map[string][]byte{} // the part's encoding, while only one ServiceChecker lists the Service
	for _, checker := range s.checkers() {
		p := s.parts[checker]
		for i := range p.Entries {
			st := &p.Entries[i]
			key := st.Key()
			e, seen := byKey[key]
			if !seen {
				copied := *st
				copied.counts = s.counts(st)
				byKey[key] = &copied
				single[key] = p.EntryJSON[i]
				continue
			}
			delete(single, key)
			e.Checkers = append(append([]string(nil), e.Checkers...), checker) // never share the part's slice
			e.Critical = e.Critical || st.Critical
			e.Maintenance = e.Maintenance || st.Maintenance
			e.counts = e.counts || s.counts(st)
			e.criticalDown = e.criticalDown || st.criticalDown
			switch {
			case e.criticalDown:
				e.GraceUntil = nil // one ServiceChecker in view counts it: it is not pending
			case st.GraceUntil != nil && (e.GraceUntil == nil || st.GraceUntil.Before(*e.GraceUntil)):
				e.GraceUntil = st.GraceUntil
			}
			if e.Window == "" {
				e.Window = st.Window
			}
			if !st.Ready && e.Ready {
				e.Ready = false
				e.Reason = st.Reason
			}
			e.ReadyEndpoints = min(e.ReadyEndpoints, st.ReadyEndpoints)
			if st.Since.After(e.Since) {
				e.Since = st.Since
			}
		}
	}

	m := &Merged{View: View{Entries: make([]Entry, 0, len(byKey))}, index: make(map[string]int, len(byKey))}
	for _, e := range byKey {
		m.Entries = append(m.Entries, *e)
	}
	sortEntries(m.Entries)
	m.EntryJSON = make([][]byte, len(m.Entries))
	for i := range m.Entries {
		e := &m.Entries[i]
		m.index[e.Key()] = i
		if b, ok := single[e.Key()]; ok {
			m.EntryJSON[i] = b
			continue
		}
		m.EntryJSON[i] = mustMarshal(e)
	}
	m.Services = &Encoded{JSON: JoinArray(m.EntryJSON), ETag: s.ETag()}
	m.Summary = Summarize(m.Entries, s.Updated)
	return m
}

// Lookup returns the merged entry of Service namespace/name.
func (m *Merged) Lookup(namespace, name string) (int, bool) {
	i, ok := m.index[namespace+"/"+name]
	return i, ok
}

// View is the entries of one selection and their encodings.
type View struct {
	Entries   []Entry
	EntryJSON [][]byte
}

// JSON is the view's JSON array.
func (v *View) JSON() []byte { return JoinArray(v.EntryJSON) }

// CheckerNotFoundError is returned for a selection naming a ServiceChecker the snapshot does not hold: the answer
// must be "no such ServiceChecker", never an all clear.
type CheckerNotFoundError struct{ Checker string }

func (e *CheckerNotFoundError) Error() string {
	return fmt.Sprintf("ServiceChecker %s does not exist; check the namespace and name (GET /services lists "+
		"the checkers of every Service)", e.Checker)
}

// Select returns the entries of a selection. With a checker, they are that ServiceChecker's own verdicts (never
// merged with another's); without one, the merged entries of the Services kept by the other filters, which select
// whole Services and so keep every ServiceChecker's verdict on them.
func (s *Snapshot) Select(sel selection.Selection) (View, error) {
	var from View
	if sel.Checker != "" {
		p, ok := s.parts[sel.Checker]
		if !ok {
			return View{}, &CheckerNotFoundError{Checker: sel.Checker}
		}
		// Copies: the part is shared, and the windows decide what counts.
		from = View{Entries: make([]Entry, len(p.Entries)), EntryJSON: p.EntryJSON}
		for i := range p.Entries {
			from.Entries[i] = p.Entries[i]
			from.Entries[i].counts = s.counts(&p.Entries[i])
		}
	} else {
		from = s.All().View
	}
	filters := sel
	filters.Checker = ""
	if filters.Empty() {
		return from, nil
	}
	out := View{Entries: make([]Entry, 0, len(from.Entries)), EntryJSON: make([][]byte, 0, len(from.Entries))}
	for i := range from.Entries {
		e := &from.Entries[i]
		if sel.Keep(e.Namespace, e.Name, e.Critical, e.Ready) {
			out.Entries = append(out.Entries, *e)
			out.EntryJSON = append(out.EntryJSON, from.EntryJSON[i])
		}
	}
	return out, nil
}

// SelectEncoded returns the JSON array of the view sel selects. The views of one ServiceChecker (?checker= alone,
// what a team's frontends ask for) and of everything are encoded, and gzipped on demand, once per snapshot, and
// shared by every stream and poller asking for them; other filters are encoded per call, so that arbitrary query
// strings cannot pin memory until the next snapshot. The bytes are shared: callers must not modify them.
func (s *Snapshot) SelectEncoded(sel selection.Selection) (*Encoded, error) {
	if sel.Empty() {
		return s.All().Services, nil
	}
	filters := sel
	filters.Checker = ""
	shared := sel.Checker != "" && filters.Empty()
	if shared {
		if e, ok := s.selected.Load(sel.Checker); ok {
			return e.(*Encoded), nil
		}
	}
	view, err := s.Select(sel)
	if err != nil {
		return nil, err
	}
	e := &Encoded{JSON: view.JSON()}
	if !shared {
		return e, nil
	}
	kept, _ := s.selected.LoadOrStore(sel.Checker, e)
	return kept.(*Encoded), nil
}

// JoinArray assembles a JSON array from encoded elements.
func JoinArray(elements [][]byte) []byte {
	size := 2
	for _, e := range elements {
		size += len(e) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	for i, e := range elements {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e...)
	}
	return append(buf, ']')
}

// mustMarshal encodes a value whose type cannot fail to encode (strings, bools, numbers and times).
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return b
}
