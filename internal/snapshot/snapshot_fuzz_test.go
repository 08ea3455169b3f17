package snapshot_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/snapshot"
)

var fuzzT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// FuzzMerge builds snapshots from arbitrary ServiceCheckers (decodeCheckers) and checks Build, All and Select against
// the rules of their doc comments, written out independently here: a checker's view is exactly its status entries
// (plus Pending ones for Services its status does not cover yet), deduplicated and sorted; a merged entry is ready
// only if every part is, critical and in maintenance if any part is (maintenance = the part's critical && !ready),
// with the fewest endpoints, the latest transition, the first not-ready reason and the sorted checkers; the summary
// counts the entries; every encoding decodes back to its entries; filters keep what Keep keeps; the entity tag depends
// on the content only.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x01, 0x02, 0x00, 0x21, 0x05, 0x00}, []byte{0x00})
	// Two checkers listing the same Service, one ready and critical, one not ready.
	f.Add([]byte{0x00, 0x01, 0x00, 0x03, 0x02, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00}, []byte{0x01, 0x03})
	// A checker whose status is behind its spec: Pending entries.
	f.Add([]byte{0x02, 0x41, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x33}, []byte{0x02, 0x30})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data, filter []byte) {
		checkers := decodeCheckers(data)
		snap, err := snapshot.Build(checkers, 1, fuzzT0)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}

		parts := map[string][]snapshot.Entry{} // what each checker's view must be
		for i := range checkers {
			key := checkers[i].Namespace + "/" + checkers[i].Name
			parts[key] = wantPart(&checkers[i])
			view, err := snap.Select(selection.Selection{Checker: key})
			if err != nil {
				t.Fatalf("Select(checker=%s): %v", key, err)
			}
			if !sameEntries(view.Entries, parts[key]) {
				t.Fatalf("checker %s: view %+v, want its status entries %+v", key, view.Entries, parts[key])
			}
			checkEncoding(t, "checker "+key, view)
		}
		if _, err := snap.Select(selection.Selection{Checker: "nobody/none"}); err == nil {
			t.Fatal("Select(checker=nobody/none): no error for a ServiceChecker that does not exist")
		}

		all := snap.All()
		want := wantMerged(parts)
		if !sameEntries(all.Entries, want) {
			t.Fatalf("merged entries\n got %+v\nwant %+v", all.Entries, want)
		}
		checkEncoding(t, "merged", all.View)
		var decoded []snapshot.Entry
		if err := json.Unmarshal(all.Services.JSON, &decoded); err != nil || !sameEntries(decoded, all.Entries) {
			t.Fatalf("the merged JSON %s decodes to %+v (%v), want %+v", all.Services.JSON, decoded, err, all.Entries)
		}
		for i := range all.Entries {
			if j, ok := all.Lookup(all.Entries[i].Namespace, all.Entries[i].Name); !ok || j != i {
				t.Fatalf("Lookup(%s) = %d, %v; want %d", all.Entries[i].Key(), j, ok, i)
			}
		}
		checkSummary(t, all.Summary, all.Entries)

		sel := decodeSelection(filter, slices.Sorted(maps.Keys(parts)))
		view, err := snap.Select(sel)
		if _, known := parts[sel.Checker]; sel.Checker != "" && !known {
			if err == nil {
				t.Fatalf("Select(%+v): no error for a ServiceChecker that does not exist", sel)
			}
			return
		}
		if err != nil {
			t.Fatalf("Select(%+v): %v", sel, err)
		}
		from := want
		if sel.Checker != "" {
			from = parts[sel.Checker]
		}
		var kept []snapshot.Entry
		for _, e := range from {
			if sel.Keep(e.Namespace, e.Name, e.Critical, e.Ready) {
				kept = append(kept, e)
			}
		}
		if !sameEntries(view.Entries, kept) {
			t.Fatalf("Select(%+v) = %+v, want %+v", sel, view.Entries, kept)
		}
		checkEncoding(t, fmt.Sprintf("Select(%+v)", sel), view)
		checkSummary(t, snapshot.Summarize(view.Entries, snap.Updated), view.Entries)

		// The entity tag is the content's: the same ServiceCheckers in another order, at another version and time,
		// have the same tag.
		reordered := slices.Clone(checkers)
		slices.Reverse(reordered)
		again, err := snapshot.Build(reordered, 2, fuzzT0.Add(time.Hour))
		if err != nil {
			t.Fatalf("Build (reordered): %v", err)
		}
		if again.ETag() != snap.ETag() {
			t.Fatalf("the entity tag depends on the order of the ServiceCheckers: %s, then %s", snap.ETag(), again.ETag())
		}
		if !sameEntries(again.All().Entries, all.Entries) {
			t.Fatalf("the merged entries depend on the order of the ServiceCheckers")
		}
	})
}

// Pools of valid names: Build trusts what the API server validated, so the fuzzer varies which names repeat, not
// their spelling.
var (
	fuzzNamespaces = []string{"shop", "data", "ops", "a"}
	fuzzServices   = []string{"api", "db", "checkout", "search", "x"}
	fuzzReasons    = []string{v1alpha1.ReasonReady, v1alpha1.ReasonNoReadyEndpoints,
		v1alpha1.ReasonNotEnoughReadyEndpoints, v1alpha1.ReasonServiceNotFound, v1alpha1.ReasonExternalNameService}
)

// maxFuzzCheckers bounds the ServiceCheckers of one input: enough to share Services in every way, few enough that an
// execution stays cheap (bytes past them are ignored, so the fuzzer trims them at once).
const maxFuzzCheckers = 6

// decodeCheckers reads up to maxFuzzCheckers ServiceCheckers from bytes; checkers with a "<namespace>/<name>" already
// read are skipped (the API server holds one object per key).
//
//	header, 2 bytes: h0 bits 0-1 namespace, bits 2-4 name, bit 5 status behind spec (observedGeneration != generation),
//	                 bit 6 spec lists the status's Services plus one more; h1 bits 0-3 how many status entries follow
//	                 (at most 8), bits 4-6 how many spec entries follow
//	status entry, 3 bytes: s0 bits 0-1 namespace, 2-4 Service, 5 ready, 6 critical; s1 readyEndpoints (0-15) and
//	                 reason (bits 4-6); s2 minutes after t0 of lastTransitionTime
//	spec entry, 1 byte: bits 0-2 Service, bit 3 namespace empty (the checker's own), bits 4-5 namespace, bit 6 critical
func decodeCheckers(data []byte) []v1alpha1.ServiceChecker {
	var out []v1alpha1.ServiceChecker
	seen := map[string]bool{}
	for len(data) >= 2 && len(out) < maxFuzzCheckers {
		h0, h1 := data[0], data[1]
		data = data[2:]
		sc := v1alpha1.ServiceChecker{ObjectMeta: metav1.ObjectMeta{
			Namespace: fuzzNamespaces[h0&3], Name: fmt.Sprintf("checker-%d", (h0>>2)&7), Generation: 1}}
		sc.Status.ObservedGeneration = 1
		if h0&0x20 != 0 {
			sc.Generation = 2
		}
		for range min(int(h1&0x0f), 8) {
			if len(data) < 3 {
				break
			}
			s0, s1, s2 := data[0], data[1], data[2]
			data = data[3:]
			ready := s0&0x20 != 0
			reason := fuzzReasons[int((s1>>4)&7)%len(fuzzReasons)]
			sc.Status.ServiceStatuses = append(sc.Status.ServiceStatuses, v1alpha1.ServiceStatus{
				Namespace: fuzzNamespaces[s0&3], Name: fuzzServices[int((s0>>2)&7)%len(fuzzServices)],
				Ready: ready, Critical: s0&0x40 != 0, ReadyEndpoints: int32(s1 & 0x0f), Reason: reason,
				LastTransitionTime: metav1.NewTime(fuzzT0.Add(time.Duration(s2) * time.Minute)),
			})
		}
		if h0&0x40 != 0 {
			for _, st := range sc.Status.ServiceStatuses {
				sc.Spec.Services = append(sc.Spec.Services, v1alpha1.ServiceRef{Namespace: st.Namespace, Name: st.Name,
					Critical: st.Critical})
			}
		}
		for range int((h1 >> 4) & 7) {
			if len(data) < 1 {
				break
			}
			b := data[0]
			data = data[1:]
			ref := v1alpha1.ServiceRef{Name: fuzzServices[int(b&7)%len(fuzzServices)], Critical: b&0x40 != 0}
			if b&8 == 0 {
				ref.Namespace = fuzzNamespaces[(b>>4)&3]
			}
			sc.Spec.Services = append(sc.Spec.Services, ref)
		}
		key := sc.Namespace + "/" + sc.Name
		if !seen[key] {
			seen[key] = true
			out = append(out, sc)
		}
	}
	return out
}

// decodeSelection reads a selection: f0 bits 0-2 the checker (an index into checkers, past its end a missing one,
// 7 none), bit 3 a namespace filter, bits 4-5 a service filter (1 a name, 2 a namespace/name, 3 both), bits 6-7
// critical (0 either, 1 true, 2 false); f1 bits 0-1 and 2-3 the namespace and Service named, bits 4-5 ready.
func decodeSelection(filter []byte, checkers []string) selection.Selection {
	var f0, f1 byte
	if len(filter) > 0 {
		f0 = filter[0]
	}
	if len(filter) > 1 {
		f1 = filter[1]
	}
	var sel selection.Selection
	switch c := int(f0 & 7); {
	case c == 7:
	case c < len(checkers):
		sel.Checker = checkers[c]
	default:
		sel.Checker = "nobody/none"
	}
	ns, svc := fuzzNamespaces[f1&3], fuzzServices[int((f1>>2)&3)%len(fuzzServices)]
	if f0&8 != 0 {
		sel.Namespaces = []string{ns, "other"}
	}
	if f0&0x10 != 0 {
		sel.Services = append(sel.Services, svc)
	}
	if f0&0x20 != 0 {
		sel.Services = append(sel.Services, ns+"/"+fuzzServices[(int(f1>>2)+1)%len(fuzzServices)])
	}
	sel.Critical = tristate(f0 >> 6)
	sel.Ready = tristate(f1 >> 4)
	return sel
}

func tristate(bits byte) *bool {
	switch bits & 3 {
	case 1:
		t := true
		return &t
	case 2:
		f := false
		return &f
	}
	return nil
}

// wantPart is a checker's own entries by the rule of NewPart: the status entries when they are current and not empty,
// else the status entries plus a Pending one for each Service of the spec they do not cover (namespace defaulted);
// the first entry of a Service wins; sorted by namespace, then name.
func wantPart(sc *v1alpha1.ServiceChecker) []snapshot.Entry {
	key := sc.Namespace + "/" + sc.Name
	statuses := slices.Clone(sc.Status.ServiceStatuses)
	if sc.Status.ObservedGeneration != sc.Generation || len(statuses) == 0 {
		covered := map[string]bool{}
		for _, st := range statuses {
			covered[st.Namespace+"/"+st.Name] = true
		}
		for _, ref := range sc.Spec.Services {
			ns := ref.Namespace
			if ns == "" {
				ns = sc.Namespace
			}
			if !covered[ns+"/"+ref.Name] {
				// Like checkerstatus.Targets: a Service listed twice is critical if either entry is.
				critical := false
				for _, other := range sc.Spec.Services {
					otherNS := other.Namespace
					if otherNS == "" {
						otherNS = sc.Namespace
					}
					critical = critical || (otherNS == ns && other.Name == ref.Name && other.Critical)
				}
				covered[ns+"/"+ref.Name] = true
				statuses = append(statuses, v1alpha1.ServiceStatus{Namespace: ns, Name: ref.Name, Critical: critical,
					Reason: snapshot.ReasonPending})
			}
		}
	}
	var out []snapshot.Entry
	seen := map[string]bool{}
	for _, st := range statuses {
		if seen[st.Namespace+"/"+st.Name] {
			continue
		}
		seen[st.Namespace+"/"+st.Name] = true
		out = append(out, snapshot.Entry{Name: st.Name, Namespace: st.Namespace, Ready: st.Ready, Critical: st.Critical,
			Maintenance: st.Critical && !st.Ready, ReadyEndpoints: st.ReadyEndpoints, Reason: st.Reason,
			Since: st.LastTransitionTime.UTC(), Checkers: []string{key}})
	}
	sortByKey(out)
	return out
}

// wantMerged merges the parts by the rule of All's doc comment.
func wantMerged(parts map[string][]snapshot.Entry) []snapshot.Entry {
	byKey := map[string][]snapshot.Entry{} // every part's entry for a Service, in checker order
	for _, checker := range slices.Sorted(maps.Keys(parts)) {
		for _, e := range parts[checker] {
			byKey[e.Key()] = append(byKey[e.Key()], e)
		}
	}
	out := make([]snapshot.Entry, 0, len(byKey))
	for _, entries := range byKey {
		m := entries[0]
		m.Ready, m.Critical, m.Maintenance, m.Checkers = true, false, false, nil
		reason := ""
		for _, e := range entries {
			m.Ready = m.Ready && e.Ready
			m.Critical = m.Critical || e.Critical
			m.Maintenance = m.Maintenance || (e.Critical && !e.Ready)
			m.ReadyEndpoints = min(m.ReadyEndpoints, e.ReadyEndpoints)
			if e.Since.After(m.Since) {
				m.Since = e.Since
			}
			if !e.Ready && reason == "" {
				reason = e.Reason
			}
			m.Checkers = append(m.Checkers, e.Checkers...)
		}
		if reason != "" {
			m.Reason = reason
		}
		out = append(out, m)
	}
	sortByKey(out)
	return out
}

// checkSummary checks a summary against the entries it counts, and that its JSON decodes back to it.
func checkSummary(t *testing.T, s snapshot.Summary, entries []snapshot.Entry) {
	t.Helper()
	ready, critical := 0, []string{}
	for _, e := range entries {
		if e.Ready {
			ready++
		}
		if e.Maintenance {
			critical = append(critical, e.Key())
		}
	}
	if s.Services != len(entries) || s.Ready != ready || !slices.Equal(s.CriticalNotReady, critical) ||
		s.Maintenance != (len(critical) > 0) {
		t.Fatalf("summary %+v of entries %+v", s, entries)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encode the summary %+v: %v", s, err)
	}
	var decoded snapshot.Summary
	if err := json.Unmarshal(raw, &decoded); err != nil || !reflect.DeepEqual(decoded.CriticalNotReady,
		s.CriticalNotReady) || decoded.Maintenance != s.Maintenance || decoded.Services != s.Services ||
		decoded.Ready != s.Ready || !decoded.Updated.Equal(s.Updated) {
		t.Fatalf("the summary JSON %s decodes to %+v (%v), want %+v", raw, decoded, err, s)
	}
}

// checkEncoding decodes every entry's JSON and the view's array back and compares them with the entries.
func checkEncoding(t *testing.T, what string, view snapshot.View) {
	t.Helper()
	if len(view.EntryJSON) != len(view.Entries) {
		t.Fatalf("%s: %d encodings of %d entries", what, len(view.EntryJSON), len(view.Entries))
	}
	for i, raw := range view.EntryJSON {
		var e snapshot.Entry
		if err := json.Unmarshal(raw, &e); err != nil || !sameEntries([]snapshot.Entry{e}, view.Entries[i:i+1]) {
			t.Fatalf("%s: entry %d encodes as %s, which decodes to %+v (%v), want %+v", what, i, raw, e, err,
				view.Entries[i])
		}
	}
	var decoded []snapshot.Entry
	if err := json.Unmarshal(view.JSON(), &decoded); err != nil || !sameEntries(decoded, view.Entries) {
		t.Fatalf("%s: the array %s decodes to %+v (%v)", what, view.JSON(), decoded, err)
	}
}

func sameEntries(a, b []snapshot.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Since.Equal(y.Since) {
			return false
		}
		x.Since, y.Since = time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func sortByKey(entries []snapshot.Entry) {
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Namespace != entries[j].Namespace {
			return entries[i].Namespace < entries[j].Namespace
		}
		return entries[i].Name < entries[j].Name
	})
}
