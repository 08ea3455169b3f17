package snapshot

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
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
// written contribute nothing: they have no verdict yet. updated is reported as Summary.Updated.
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
		for _, st := range sc.Status.ServiceStatuses {
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

	s.Summary = Summary{CriticalNotReady: []string{}, Services: len(s.Entries), Updated: updated.UTC().Truncate(time.Second)}
	s.EntryJSON = make([][]byte, len(s.Entries))
	for i := range s.Entries {
		e := &s.Entries[i]
		s.index[e.Key()] = i
		if e.Ready {
			s.Summary.Ready++
		} else if e.Critical {
			s.Summary.CriticalNotReady = append(s.Summary.CriticalNotReady, e.Key())
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode entry %s: %w", e.Key(), err)
		}
		s.EntryJSON[i] = b
	}
	s.Summary.Maintenance = len(s.Summary.CriticalNotReady) > 0

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
