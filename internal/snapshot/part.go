package snapshot

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/checkerstatus"
)

// Entry is one watched Service as the API reports it. The first four fields keep the original API's names.
type Entry struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Ready     bool   `json:"ready"`
	Critical  bool   `json:"critical"`
	// Maintenance is true when, in the view that produced the entry, some ServiceChecker marks this Service critical
	// and its own verdict for it is not ready, or an active MaintenanceWindow covers it. In a merged entry it is not
	// the same as critical && !ready (one ServiceChecker may mark it critical, another judge it not ready).
	Maintenance bool `json:"maintenance"`
	// Window is "<namespace>/<name>" of the active MaintenanceWindow covering the entry (the earliest started, then
	// by name); empty when none does.
	Window string `json:"window,omitempty"`
	// GraceUntil is set while the Service is critical, not ready and within its grace period for a ServiceChecker
	// in view (the earliest such end), and no ServiceChecker in view counts it yet: it does not put the view in
	// maintenance until then. UTC, whole seconds; nil otherwise.
	GraceUntil     *time.Time `json:"graceUntil,omitempty"`
	ReadyEndpoints int32      `json:"readyEndpoints"`
	Reason         string     `json:"reason"`
	Since          time.Time  `json:"since"`
	// Checkers are the "<namespace>/<name>" of the ServiceCheckers whose verdicts the entry holds, sorted.
	Checkers []string `json:"checkers"`

	// counts is true when the entry puts /status of its view in maintenance: a ServiceChecker in view marks it
	// critical and judges it not ready past its grace period, or an active window covers it and it is critical or
	// the window covers its ServiceChecker whole. Set by the snapshot, which knows the windows.
	counts bool
	// criticalDown is true when a ServiceChecker in view marks it critical, judges it not ready and counts it (its
	// grace period, if any, is over): it is listed in /status's criticalNotReady.
	criticalDown bool
}

// Key is the "<namespace>/<name>" of the entry's Service.
func (e *Entry) Key() string { return e.Namespace + "/" + e.Name }

// ReasonPending is the reason of a Service listed in a ServiceChecker's spec that its status does not cover yet
// (the controller has not written it since the Service was added). Unknown is reported as not ready, never as
// ready: a frontend must not hear "all clear" about a Service nobody has checked.
const ReasonPending = "Pending"

// Part is one ServiceChecker's own verdicts, as its status reports them. It is immutable once built.
type Part struct {
	// Checker is "<namespace>/<name>" of the ServiceChecker.
	Checker string
	// Entries are sorted by namespace, then name; each lists only this ServiceChecker.
	Entries []Entry
	// EntryJSON[i] is the JSON encoding of Entries[i].
	EntryJSON [][]byte
	// hash identifies the content, for the snapshot's entity tag and to tell a no-op status write.
	hash  [sha256.Size]byte
	index map[string]int
}

// NewPart computes and encodes the verdicts of one ServiceChecker. Services of its spec that its status does not
// cover yet (a new ServiceChecker, or a spec edit the controller has not caught up with) are not ready, reason
// Pending.
func NewPart(sc *v1alpha1.ServiceChecker) (*Part, error) {
	p := &Part{Checker: sc.Namespace + "/" + sc.Name}
	seen := map[string]bool{}
	for _, st := range statuses(sc) {
		key := st.Namespace + "/" + st.Name
		if seen[key] {
			continue // the same Service twice in one status cannot happen, but must not count twice
		}
		seen[key] = true
		window := ""
		if st.MaintenanceWindow != "" {
			window = sc.Namespace + "/" + st.MaintenanceWindow
		}
		// A critical Service not ready within its grace period does not count yet; graceUntil says until when.
		var graceUntil *time.Time
		down := st.Critical && !st.Ready
		if down && st.GraceUntil != nil {
			until := st.GraceUntil.UTC().Truncate(time.Second)
			graceUntil, down = &until, false
		}
		p.Entries = append(p.Entries, Entry{
			Name: st.Name, Namespace: st.Namespace, Ready: st.Ready, Critical: st.Critical,
			Maintenance: down || window != "", Window: window, GraceUntil: graceUntil,
			ReadyEndpoints: st.ReadyEndpoints, Reason: st.Reason, Since: st.LastTransitionTime.UTC(),
			Checkers: []string{p.Checker}, counts: down, criticalDown: down,
		})
	}
	sortEntries(p.Entries)
	p.EntryJSON = make([][]byte, len(p.Entries))
	p.index = make(map[string]int, len(p.Entries))
	h := sha256.New()
	h.Write([]byte(p.Checker))
	for i := range p.Entries {
		b, err := json.Marshal(&p.Entries[i])
		if err != nil {
			return nil, fmt.Errorf("encode entry %s of ServiceChecker %s: %w", p.Entries[i].Key(), p.Checker, err)
		}
		p.EntryJSON[i] = b
		p.index[p.Entries[i].Key()] = i
		h.Write(b)
	}
	h.Sum(p.hash[:0])
	return p, nil
}

// SameAs reports whether q holds exactly the same verdicts as p.
func (p *Part) SameAs(q *Part) bool { return p != nil && q != nil && p.hash == q.hash }

// statuses returns a ServiceChecker's status entries plus a pending, not-ready entry for each Service of its spec
// that the status does not cover.
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

func sortEntries(entries []Entry) {
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Namespace != entries[j].Namespace {
			return entries[i].Namespace < entries[j].Namespace
		}
		return entries[i].Name < entries[j].Name
	})
}
