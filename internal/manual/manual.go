package manual

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mamrezb/maintenance-window-manager/api/v1alpha1"
	"github.com/mamrezb/maintenance-window-manager/internal/selection"
	"github.com/mamrezb/maintenance-window-manager/internal/windows"
)

// Request is a window to switch on by hand.
type Request struct {
	// Namespace and Checker name the ServiceChecker.
	Namespace, Checker string
	// For is how long the window lasts; 0 leaves it open-ended, until switched off.
	For time.Duration
	// Services narrows the window to these Services of the ServiceChecker (name or namespace/name); empty: whole.
	Services []string
	// Title and Message are shown to end users.
	Title, Message string
}

// Limits of the MaintenanceWindow's spec, as admission enforces them.
const (
	maxTitle    = 128
	maxMessage  = 2048
	maxServices = 256
)

// Validate checks a request as admission would, with errors naming mwmctl's flags.
func (r Request) Validate() error {
	var errs []error
	if !selection.IsCheckerKey(r.Namespace + "/" + r.Checker) {
		errs = append(errs, fmt.Errorf("%q is not NAME of a ServiceChecker in namespace %q", r.Checker, r.Namespace))
	}
	if r.For < 0 || r.For > 0 && r.For < time.Second {
		errs = append(errs, fmt.Errorf("--for %s must be at least 1s (or left out for an open-ended window)", r.For))
	}
	if len(r.Services) > maxServices {
		errs = append(errs, fmt.Errorf("--services lists %d Services, at most %d", len(r.Services), maxServices))
	}
	for _, s := range r.Services {
		if !selection.IsServiceRef(s) {
			errs = append(errs, fmt.Errorf("--services %q is not NAME or NAMESPACE/NAME of a Service", s))
		}
	}
	if n := utf8.RuneCountInString(r.Title); n > maxTitle {
		errs = append(errs, fmt.Errorf("--title has %d characters, at most %d", n, maxTitle))
	}
	if n := utf8.RuneCountInString(r.Message); n > maxMessage {
		errs = append(errs, fmt.Errorf("--message has %d characters, at most %d", n, maxMessage))
	}
	return errors.Join(errs...)
}

// NewWindow is the one-off window of r starting at now, to the second (as RFC 3339 in the spec carries it): start,
// and end when r.For is set (never duration, so that `off` can end it by writing end). The API server completes
// its name from generateName "<checker>-manual-".
func NewWindow(r Request, now time.Time) *v1alpha1.MaintenanceWindow {
	start := now.UTC().Truncate(time.Second)
	w := &v1alpha1.MaintenanceWindow{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, GenerateName: r.Checker + "-manual-",
			Labels: map[string]string{v1alpha1.LabelManual: "true"}},
		Spec: v1alpha1.MaintenanceWindowSpec{Checkers: []string{r.Checker}, Services: r.Services, Title: r.Title,
			Message: r.Message, Start: ptr.To(metav1.NewTime(start))},
	}
	if r.For > 0 {
		w.Spec.End = ptr.To(metav1.NewTime(start.Add(r.For.Round(time.Second))))
	}
	return w
}

// Evaluate says what a window is at now, as the operator decides it (defaults applied as the CRD would).
func Evaluate(s *v1alpha1.MaintenanceWindowSpec, now time.Time) windows.State {
	spec := windows.Spec{Schedule: s.Schedule, TimeZone: s.TimeZone, Announce: 24 * time.Hour, Suspend: s.Suspend}
	if s.Start != nil {
		spec.Start = ptr.To(s.Start.Time)
	}
	if s.End != nil {
		spec.End = ptr.To(s.End.Time)
	}
	if s.Duration != nil {
		spec.Duration = s.Duration.Duration
	}
	if s.Announce != nil {
		spec.Announce = s.Announce.Duration
	}
	return windows.Evaluate(spec, now)
}

// Ending is an active one-off window that `off` ends, and the end it writes.
type Ending struct {
	Window v1alpha1.MaintenanceWindow
	End    time.Time
}

// Kept is an active recurring window that `off` leaves, with its current occurrence.
type Kept struct {
	Window  v1alpha1.MaintenanceWindow
	Current windows.Occurrence
}

// Plan is what `off` does for a ServiceChecker at now.
type Plan struct {
	// End are the active one-off windows naming the ServiceChecker, sorted by name.
	End []Ending
	// Keep are the active recurring windows naming it, sorted by name.
	Keep []Kept
}

// PlanOff sorts the windows naming checker (a name in the windows' namespace) that are active at now: one-off ones
// end at now, to the second, and at least a second after their start (admission wants end after start); recurring
// ones are kept. Scheduled, Completed, Suspended and Invalid windows, and those naming other ServiceCheckers only,
// are left out.
func PlanOff(list []v1alpha1.MaintenanceWindow, checker string, now time.Time) Plan {
	var p Plan
	for _, w := range list {
		if !slices.Contains(w.Spec.Checkers, checker) {
			continue
		}
		st := Evaluate(&w.Spec, now)
		if st.Phase != windows.PhaseActive || st.Current == nil {
			continue
		}
		if w.Spec.Start == nil {
			p.Keep = append(p.Keep, Kept{Window: w, Current: *st.Current})
			continue
		}
		end := now.UTC().Truncate(time.Second)
		if earliest := w.Spec.Start.UTC().Truncate(time.Second).Add(time.Second); end.Before(earliest) {
			end = earliest
		}
		p.End = append(p.End, Ending{Window: w, End: end})
	}
	slices.SortFunc(p.End, func(a, b Ending) int { return strings.Compare(a.Window.Name, b.Window.Name) })
	slices.SortFunc(p.Keep, func(a, b Kept) int { return strings.Compare(a.Window.Name, b.Window.Name) })
	return p
}

// SuspendCommand is the kubectl command that suspends a window, for the windows `off` keeps.
func SuspendCommand(w *v1alpha1.MaintenanceWindow) string {
	return fmt.Sprintf(`kubectl patch mwin %s -n %s --type merge -p '{"spec":{"suspend":true}}'`, w.Name, w.Namespace)
}
