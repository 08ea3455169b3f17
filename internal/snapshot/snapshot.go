package snapshot

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/checkerstatus"
)

// Entry is one watched Service as the API reports it. The first four fields keep the original API's names.
type Entry struct {
	Name           string    `json:"name"`
	Namespace      string    `json:"namespace"`
	Ready          bool      `json:"ready"`
	Critical       bool      `json:"critical"`
	ReadyEndpoints int32     `json:"readyEndpoints"`
	Reason         string    `json:"reason"`
	Since          time.Time `json:"since"`
	// Checkers are the "<namespace>/<name>" of the ServiceCheckers listing this Service, sorted.
	Checkers []string `json:"checkers"`
}

// Key is the "<namespace>/<name>" of the entry's Service.
func (e *Entry) Key() string { return e.Namespace + "/" + e.Name }

// IsCheckerKey reports whether key is "<namespace>/<name>" of a possible ServiceChecker, as the Checkers of an
// entry are written.
func IsCheckerKey(key string) bool {
	ns, name, found := strings.Cut(key, "/")
	return found && len(validation.IsDNS1123Label(ns)) == 0 && len(validation.IsDNS1123Subdomain(name)) == 0
}

// ListedBy reports whether the ServiceChecker "<namespace>/<name>" lists this Service.
func (e *Entry) ListedBy(checker string) bool {
	for _, c := range e.Checkers {
		if c == checker {
			return true
		}
	}
	return false
}

// Summary is the one-flag answer of GET /status.
type Summary struct {
	Maintenance      bool      `json:"maintenance"`
	CriticalNotReady []string  `json:"criticalNotReady"`
	Services         int       `json:"services"`
	Ready            int       `json:"ready"`
	Updated          time.Time `json:"updated"`
}

// Encoded is a JSON document, its gzip encoding and its entity tag.
type Encoded struct {
	JSON []byte
	Gzip []byte
	// ETag is a weak entity tag derived from the content only (not the version or build time), so replicas
	// holding the same data agree on it.
	ETag string
}

// Snapshot is an immutable view of every watched Service. Readers must not modify anything reachable from it.
type Snapshot struct {
	// Version increases by one with every published snapshot of a Store.
	Version uint64
	// Entries are sorted by namespace, then name.
	Entries []Entry
	// EntryJSON[i] is the JSON encoding of Entries[i], so filtered lists are assembled without re-encoding.
	EntryJSON [][]byte
	// Services is the JSON array of all entries. Its ETag also stands for every filtered view and single entry:
	// they cannot change while it does not.
	Services Encoded
	// Summary and its encoding.
	Summary     Summary
	SummaryJSON Encoded
	index       map[string]int
}

// Lookup returns the entry of Service namespace/name.
func (s *Snapshot) Lookup(namespace, name string) (int, bool) {
	i, ok := s.index[namespace+"/"+name]
	return i, ok
}

// Build computes a snapshot from ServiceCheckers. A Service listed by several ServiceCheckers appears once:
// critical if any marks it critical, ready only if every one reports it ready, the reason of the first not-ready
// ServiceChecker (in checkers order), and the latest transition time. ServiceCheckers whose status was never
// written for their current spec report the Services they have no verdict for as not ready, reason Pending.
// updated is reported as Summary.Updated.
func Build(checkers []v1alpha1.ServiceChecker, version uint64, updated time.Time) (*Snapshot, error) {
	sorted := make([]*v1alpha1.ServiceChecker, len(checkers))
	for i := range checkers {
		sorted[i] = &checkers[i]
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Namespace != sorted[j].Namespace {
			return sorted[i].Namespace < sorted[j].Namespace
		}
		return sorted[i].Name < sorted[j].Name
	})

	byKey := map[string]*Entry{}
	for _, sc := range sorted {
		checker := sc.Namespace + "/" + sc.Name
		for _, st := range statuses(sc) {
			key := st.Namespace + "/" + st.Name
			e, seen := byKey[key]
			if !seen {
				e = &Entry{Name: st.Name, Namespace: st.Namespace, Ready: true, Reason: v1alpha1.ReasonReady,
					ReadyEndpoints: st.ReadyEndpoints}
				byKey[key] = e
			}
			if len(e.Checkers) > 0 && e.Checkers[len(e.Checkers)-1] == checker {
				continue // the same Service twice in one status cannot happen, but must not count twice
			}
			e.Checkers = append(e.Checkers, checker)
			e.Critical = e.Critical || st.Critical
			if !st.Ready && e.Ready {
				e.Ready = false
				e.Reason = st.Reason
			}
			e.ReadyEndpoints = min(e.ReadyEndpoints, st.ReadyEndpoints)
			if since := st.LastTransitionTime.UTC(); since.After(e.Since) {
				e.Since = since
			}
		}
	}

	s := &Snapshot{Version: version, Entries: make([]Entry, 0, len(byKey)), index: make(map[string]int, len(byKey))}
	for _, e := range byKey {
		s.Entries = append(s.Entries, *e)
	}
	sort.Slice(s.Entries, func(i, j int) bool {
		if s.Entries[i].Namespace != s.Entries[j].Namespace {
			return s.Entries[i].Namespace < s.Entries[j].Namespace
		}
		return s.Entries[i].Name < s.Entries[j].Name
	})

	s.Summary = Summarize(s.Entries, updated)
	s.EntryJSON = make([][]byte, len(s.Entries))
	for i := range s.Entries {
		e := &s.Entries[i]
		s.index[e.Key()] = i
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode entry %s: %w", e.Key(), err)
		}
		s.EntryJSON[i] = b
	}

	var err error
	if s.Services, err = encode(JoinArray(s.EntryJSON)); err != nil {
		return nil, err
	}
	summary, err := json.Marshal(s.Summary)
	if err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	if s.SummaryJSON, err = encode(summary); err != nil {
		return nil, err
	}
	return s, nil
}

// Summarize computes the /status answer for entries; updated is when the data last changed.
func Summarize(entries []Entry, updated time.Time) Summary {
	s := Summary{CriticalNotReady: []string{}, Services: len(entries), Updated: updated.UTC().Truncate(time.Second)}
	for i := range entries {
		switch e := &entries[i]; {
		case e.Ready:
			s.Ready++
		case e.Critical:
			s.CriticalNotReady = append(s.CriticalNotReady, e.Key())
		}
	}
	s.Maintenance = len(s.CriticalNotReady) > 0
	return s
}

// ReasonPending is the reason of a Service listed in a ServiceChecker's spec that its status does not cover yet
// (the controller has not written it since the Service was added). Unknown is reported as not ready, never as
// ready: a frontend must not hear "all clear" about a Service nobody has checked.
const ReasonPending = "Pending"

// statuses returns a ServiceChecker's status entries plus a pending, not-ready entry for each Service of its spec
// that the status does not cover (a new ServiceChecker, or a spec edit the controller has not caught up with).
func statuses(sc *v1alpha1.ServiceChecker) []v1alpha1.ServiceStatus {
	if sc.Status.ObservedGeneration == sc.Generation && len(sc.Status.ServiceStatuses) > 0 {
		return sc.Status.ServiceStatuses
	}
	out := append([]v1alpha1.ServiceStatus(nil), sc.Status.ServiceStatuses...) // never append to the cached object
	covered := make(map[string]bool, len(out))
	for _, st := range out {
		covered[st.Namespace+"/"+st.Name] = true
	}
	for _, t := range checkerstatus.Targets(sc) {
		if !covered[t.Service.String()] {
			out = append(out, v1alpha1.ServiceStatus{Namespace: t.Service.Namespace, Name: t.Service.Name,
				Critical: t.Critical, Reason: ReasonPending})
		}
	}
	return out
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

func encode(doc []byte) (Encoded, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return Encoded{}, err
	}
	if _, err := zw.Write(doc); err != nil {
		return Encoded{}, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Encoded{}, fmt.Errorf("gzip: %w", err)
	}
	sum := sha256.Sum256(doc)
	return Encoded{JSON: doc, Gzip: buf.Bytes(), ETag: `W/"` + hex.EncodeToString(sum[:12]) + `"`}, nil
}
