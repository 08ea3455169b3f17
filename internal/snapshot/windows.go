package snapshot

import (
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
)

// defaultAnnounce is the CRD's default of spec.announce, for a window read before defaulting (tests, old objects).
const defaultAnnounce = 24 * time.Hour

// Window is one MaintenanceWindow as the API reports it in GET /windows, from its spec and the status the operator
// writes (phase, current and next occurrences). Times are UTC to the second.
type Window struct {
	// Name is "<namespace>/<name>".
	Name    string `json:"name"`
	Phase   string `json:"phase"`
	Title   string `json:"title"`
	Message string `json:"message"`
	// Checkers are the "<namespace>/<name>" of the ServiceCheckers it applies to.
	Checkers []string `json:"checkers"`
	// Services are the Services it narrows them to, as given in its spec; [] when it covers them whole.
	Services []string     `json:"services"`
	Current  *Occurrence  `json:"current"`
	Next     []Occurrence `json:"next"`

	announce  time.Duration
	namespace string
	hash      [sha256.Size]byte
}

// Occurrence is one occurrence of a window; End is nil when it is open-ended.
type Occurrence struct {
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end"`
}

// WindowBrief is a window in /status: its current occurrence in "active", its next one in "upcoming".
type WindowBrief struct {
	Name     string     `json:"name"`
	Title    string     `json:"title"`
	Message  string     `json:"message"`
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end"`
	Checkers []string   `json:"checkers"`
	Services []string   `json:"services"`
}

// Windows is /status's "windows": the active ones, and the upcoming ones (starting within their announce).
type Windows struct {
	Active   []WindowBrief `json:"active"`
	Upcoming []WindowBrief `json:"upcoming"`
}

// NewWindow reads a MaintenanceWindow.
func NewWindow(w *v1alpha1.MaintenanceWindow) *Window {
	out := &Window{
		Name: w.Namespace + "/" + w.Name, Phase: string(w.Status.Phase), Title: w.Spec.Title, Message: w.Spec.Message,
		Checkers: make([]string, 0, len(w.Spec.Checkers)), Services: make([]string, 0, len(w.Spec.Services)),
		Next: make([]Occurrence, 0, len(w.Status.Next)), announce: defaultAnnounce, namespace: w.Namespace,
	}
	for _, c := range w.Spec.Checkers {
		out.Checkers = append(out.Checkers, w.Namespace+"/"+c)
	}
	for _, s := range w.Spec.Services {
		if !strings.Contains(s, "/") {
			s = w.Namespace + "/" + s
		}
		out.Services = append(out.Services, s)
	}
	if w.Spec.Announce != nil {
		out.announce = w.Spec.Announce.Duration
	}
	if c := w.Status.Current; c != nil && w.Status.Phase == v1alpha1.PhaseActive {
		out.Current = occurrence(c)
	}
	for i := range w.Status.Next {
		out.Next = append(out.Next, *occurrence(&w.Status.Next[i]))
	}
	out.hash = sha256.Sum256(append(mustMarshal(out), out.announce.String()...))
	return out
}

func occurrence(o *v1alpha1.Occurrence) *Occurrence {
	out := &Occurrence{Start: o.Start.UTC().Truncate(time.Second)}
	if o.End != nil {
		end := o.End.UTC().Truncate(time.Second)
		out.End = &end
	}
	return out
}

// Whole reports whether the window covers its ServiceCheckers whole (it lists no Services).
func (w *Window) Whole() bool { return len(w.Services) == 0 }

// Names reports whether the window applies to the ServiceChecker "<namespace>/<name>".
func (w *Window) Names(checker string) bool { return slices.Contains(w.Checkers, checker) }

// Active reports whether the window is active (per the operator's status).
func (w *Window) Active() bool { return w.Phase == string(v1alpha1.PhaseActive) && w.Current != nil }

// Upcoming returns the window's next occurrence when it starts within the window's announce of now.
func (w *Window) Upcoming(now time.Time) (Occurrence, bool) {
	if w.Phase != string(v1alpha1.PhaseScheduled) && w.Phase != string(v1alpha1.PhaseActive) || len(w.Next) == 0 {
		return Occurrence{}, false
	}
	next := w.Next[0]
	return next, !now.Before(next.Start.Add(-w.announce)) && now.Before(next.Start)
}

// AnnouncedAt is when the next occurrence becomes upcoming (zero when there is none): the API's answer changes then
// without any write, so the feed wakes the streams.
func (w *Window) AnnouncedAt() time.Time {
	if len(w.Next) == 0 || w.Phase == string(v1alpha1.PhaseSuspended) || w.Phase == string(v1alpha1.PhaseInvalid) {
		return time.Time{}
	}
	return w.Next[0].Start.Add(-w.announce)
}

func (w *Window) brief(o Occurrence) WindowBrief {
	return WindowBrief{Name: w.Name, Title: w.Title, Message: w.Message, Start: o.Start, End: o.End,
		Checkers: w.Checkers, Services: w.Services}
}

// Status is the /status answer of a selection at now (the replica's staleness apart).
func (s *Snapshot) Status(sel selection.Selection, now time.Time) (Summary, error) {
	var summary Summary
	var view View
	if sel.Empty() {
		summary = s.All().Summary
	} else {
		var err error
		if view, err = s.Select(sel); err != nil {
			return Summary{}, err
		}
		summary = Summarize(view.Entries, s.Updated)
	}
	summary.Windows = s.WindowsInView(sel, view, now)
	// An active window covering a ServiceChecker whole puts it in maintenance, even one with no Service in view.
	for _, w := range summary.Windows.Active {
		if len(w.Services) == 0 {
			summary.Maintenance = true
		}
	}
	return summary, nil
}

// WindowsInView returns the active and upcoming windows at now of the ServiceCheckers in view: with a checker, the
// windows naming it; without any filter, every window; otherwise those naming a ServiceChecker with an entry in view.
// Both lists are sorted by start, then name.
func (s *Snapshot) WindowsInView(sel selection.Selection, view View, now time.Time) Windows {
	out := Windows{Active: []WindowBrief{}, Upcoming: []WindowBrief{}}
	var inView func(w *Window) bool
	switch {
	case sel.Checker != "":
		inView = func(w *Window) bool { return w.Names(sel.Checker) }
	case sel.Empty():
		// Every window naming a ServiceChecker that exists: a window whose checkers are all typos has no effect.
		inView = func(w *Window) bool {
			return slices.ContainsFunc(w.Checkers, func(c string) bool { _, ok := s.parts[c]; return ok })
		}
	default:
		checkers := map[string]bool{}
		for i := range view.Entries {
			for _, c := range view.Entries[i].Checkers {
				checkers[c] = true
			}
		}
		inView = func(w *Window) bool {
			return slices.ContainsFunc(w.Checkers, func(c string) bool { return checkers[c] })
		}
	}
	for _, w := range s.windows {
		if !inView(w) {
			continue
		}
		if w.Active() {
			out.Active = append(out.Active, w.brief(*w.Current))
		}
		if next, ok := w.Upcoming(now); ok {
			out.Upcoming = append(out.Upcoming, w.brief(next))
		}
	}
	for _, list := range [][]WindowBrief{out.Active, out.Upcoming} {
		slices.SortFunc(list, func(a, b WindowBrief) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
	}
	return out
}

// ListWindows returns every window whatever its phase, sorted by name: in the given namespaces (all when empty), and
// naming checker when it is set.
func (s *Snapshot) ListWindows(namespaces []string, checker string) []*Window {
	out := make([]*Window, 0, len(s.windows))
	for _, w := range s.windows {
		if len(namespaces) > 0 && !slices.Contains(namespaces, w.namespace) || checker != "" && !w.Names(checker) {
			continue
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b *Window) int { return strings.Compare(a.Name, b.Name) })
	return out
}
