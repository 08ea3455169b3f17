package windows

import (
	"fmt"
	"math"
	"slices"
	"time"
	_ "time/tzdata" // zone rules inside the binary: the distroless image has no /usr/share/zoneinfo
)

// Spec is what Evaluate needs of a MaintenanceWindow's spec: either a one-off window (Start) or a recurring one
// (Schedule), never both.
type Spec struct {
	// Start and End bound a one-off window. End nil and Duration 0: open-ended, active from Start on.
	Start, End *time.Time
	// Schedule is a 5-field cron expression for a recurring window (minute hour day-of-month month day-of-week),
	// without a TZ= or CRON_TZ= prefix.
	Schedule string
	// TimeZone is the IANA name Schedule is read in; "" means UTC.
	TimeZone string
	// Duration is elapsed time: with Start instead of End, or the length of each occurrence of Schedule.
	Duration time.Duration
	// Announce is how long before its start an occurrence is upcoming. The caller applies the API's default.
	Announce time.Duration
	// Suspend stops the window from having any effect.
	Suspend bool
}

// Occurrence is one period of a window, in UTC.
type Occurrence struct {
	Start time.Time
	End   *time.Time // nil: open-ended
}

// Phase is the phase of a window, as in the status of a MaintenanceWindow.
type Phase string

const (
	// PhaseScheduled: not active now; a one-off window before its start, a recurring one between occurrences.
	PhaseScheduled Phase = "Scheduled"
	// PhaseActive: an occurrence covers now.
	PhaseActive Phase = "Active"
	// PhaseCompleted: a one-off window that has ended.
	PhaseCompleted Phase = "Completed"
	// PhaseSuspended: spec.suspend is set; the window has no effect whatever the time.
	PhaseSuspended Phase = "Suspended"
	// PhaseInvalid: the spec cannot be evaluated (see State.Reason); the window has no effect.
	PhaseInvalid Phase = "Invalid"
)

// Reasons of an Invalid window, for the Valid=False condition.
const (
	ReasonInvalidSchedule = "InvalidSchedule"
	ReasonUnknownTimeZone = "UnknownTimeZone"
)

// maxNext is how many occurrences State.Next lists.
const maxNext = 3

// State is the answer of Evaluate: what the window is at now, and when that answer next changes.
type State struct {
	Phase Phase
	// Current is the occurrence that covers now, while Active.
	Current *Occurrence
	// Next lists up to 3 occurrences that start after now, earliest first (a one-off window: its start if in the future).
	Next []Occurrence
	// Upcoming is Next[0] when it starts within Announce of now (now >= start - Announce).
	Upcoming *Occurrence
	// NextBoundary is the earliest instant after now at which Phase, Current, Next or Upcoming changes: the end of
	// Current, the start of Next[0], or that start minus Announce. Zero when nothing will change without a change of
	// the spec. The caller requeues there.
	NextBoundary time.Time
	// Reason and Message explain an Invalid window: Reason is ReasonInvalidSchedule or ReasonUnknownTimeZone, Message
	// names the field and what to fix.
	Reason, Message string
}

// Evaluate says what the window is at now. Rules, in order: an invalid spec is Invalid (even when suspended, so
// that the error shows); a suspended window is Suspended, with no occurrences and no boundary; a one-off window is
// Scheduled before Start, Active in [Start, End) and Completed from End on (never, when open-ended); a recurring
// window is Active while an occurrence covers now, else Scheduled. See the package documentation for time zones, DST
// and overlapping occurrences.
func Evaluate(spec Spec, now time.Time) State {
	w, reason, message, ok := compile(spec)
	switch {
	case !ok:
		return State{Phase: PhaseInvalid, Reason: reason, Message: message}
	case spec.Suspend:
		return State{Phase: PhaseSuspended}
	}

	st := State{Phase: PhaseScheduled}
	if w.oneOff != nil {
		occ := *w.oneOff
		switch {
		case now.Before(occ.Start):
			st.Next = []Occurrence{occ}
		case occ.End == nil || now.Before(*occ.End):
			st.Phase, st.Current = PhaseActive, &occ
		default:
			st.Phase = PhaseCompleted
		}
	} else {
		at := now.Unix() // occurrences are whole seconds c: c <= now exactly when c <= now.Unix()
		if c, ok := w.recurring.prev(at, now.Add(-w.duration).Unix()-1); ok {
			if occ := w.occurrence(c); occ.End.After(now) {
				st.Phase, st.Current = PhaseActive, &occ
			}
		}
		for _, c := range w.recurring.after(at, maxNext) {
			st.Next = append(st.Next, w.occurrence(c))
		}
	}

	var boundaries []time.Time
	if st.Current != nil && st.Current.End != nil {
		boundaries = append(boundaries, *st.Current.End)
	}
	if len(st.Next) > 0 {
		next := st.Next[0]
		boundaries = append(boundaries, next.Start)
		if from := next.Start.Add(-w.announce); now.Before(from) {
			boundaries = append(boundaries, from)
		} else {
			if next.End != nil {
				end := *next.End
				next.End = &end
			}
			st.Upcoming = &next
		}
	}
	if len(boundaries) > 0 {
		st.NextBoundary = slices.MinFunc(boundaries, func(a, b time.Time) int { return a.Compare(b) })
	}
	return st
}

// Validate judges what admission leaves to the operator: field ranges of spec.schedule (minute 61) and unknown
// time zones. It also rejects, defensively, the shapes admission already refuses (start and schedule together, end
// with schedule, a schedule without duration, end not after start, negative durations). reason is
// ReasonInvalidSchedule or ReasonUnknownTimeZone; message names the field and what to fix.
func Validate(spec Spec) (reason, message string, ok bool) {
	_, reason, message, ok = compile(spec)
	return reason, message, ok
}

// window is a validated Spec: exactly one of oneOff and recurring is set.
type window struct {
	oneOff    *Occurrence
	recurring *recurrence
	duration  time.Duration // of each recurring occurrence
	announce  time.Duration
}

func (w window) occurrence(start int64) Occurrence {
	s := time.Unix(start, 0).UTC()
	end := s.Add(w.duration)
	return Occurrence{Start: s, End: &end}
}

func compile(spec Spec) (w window, reason, message string, ok bool) {
	invalid := func(format string, args ...any) (window, string, string, bool) {
		return window{}, ReasonInvalidSchedule, fmt.Sprintf(format, args...), false
	}
	switch {
	case spec.Start != nil && spec.Schedule != "":
		return invalid("spec.start and spec.schedule are both set; keep start for a one-off window " +
			"or schedule for a recurring one")
	case spec.Start == nil && spec.Schedule == "":
		return invalid("neither spec.start nor spec.schedule is set; set start for a one-off window " +
			"or schedule for a recurring one")
	case spec.Duration < 0:
		return invalid("spec.duration %s is negative; set a positive duration such as 30m", spec.Duration)
	case spec.Announce < 0:
		return invalid("spec.announce %s is negative; set 0 to announce nothing, or a positive duration", spec.Announce)
	}
	w.announce = spec.Announce

	if spec.Start != nil {
		occ := Occurrence{Start: spec.Start.UTC()}
		switch {
		case spec.End != nil && spec.Duration > 0:
			return invalid("spec.end and spec.duration are both set; keep one of them")
		case spec.End != nil && !spec.End.After(*spec.Start):
			return invalid("spec.end %s is not after spec.start %s; set an end after the start",
				spec.End.UTC().Format(time.RFC3339), occ.Start.Format(time.RFC3339))
		case spec.End != nil:
			end := spec.End.UTC()
			occ.End = &end
		case spec.Duration > 0:
			end := occ.Start.Add(spec.Duration)
			occ.End = &end
		}
		w.oneOff = &occ
	} else {
		switch {
		case spec.End != nil:
			return invalid("spec.end is set on a recurring window (spec.schedule); use spec.duration instead")
		case spec.Duration == 0:
			return invalid("spec.duration is not set; a recurring window (spec.schedule) needs the length " +
				"of each occurrence, such as 30m")
		}
		s, err := parseSchedule(spec.Schedule)
		if err != nil {
			return invalid("spec.schedule: %v", err)
		}
		w.recurring, w.duration = &recurrence{schedule: s}, spec.Duration
	}

	loc, err := loadZone(spec.TimeZone)
	if err != nil {
		return window{}, ReasonUnknownTimeZone, fmt.Sprintf("spec.timeZone: unknown time zone %q; use an IANA name "+
			"such as Europe/Berlin or America/New_York, or leave it empty for UTC", spec.TimeZone), false
	}
	if w.recurring != nil {
		w.recurring.loc = loc
	}
	return w, "", "", true
}

// loadZone loads an IANA zone from the embedded database; "" is UTC and "Local" (the machine's zone) is refused.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("the machine's local zone is not an IANA name")
	}
	return time.LoadLocation(name)
}

// recurrence finds the occurrences of a schedule in a zone.
type recurrence struct {
	schedule
	loc *time.Location
}

const (
	day = 24 * 3600
	// horizon bounds every search: 29 February of a leap year comes back within eight years.
	horizon = 9 * 366
)

// after returns up to n occurrences later than the instant t, earliest first, within the horizon.
func (r *recurrence) after(t int64, n int) []int64 {
	var found []int64
	for i, mid := 0, r.midnight(t)-2*day; i < horizon; i, mid = i+1, mid+day {
		spans, ok := r.spans(mid)
		if !ok {
			continue
		}
		lower, _ := bounds(mid, spans)
		if len(found) >= n && found[n-1] <= lower {
			break // this day and the later ones start no earlier than found[n-1]
		}
		if _, upper := bounds(mid+day, spans); upper <= t {
			continue // this day ends before t
		}
		found = sortedSet(append(found, r.day(mid, spans, t+1, math.MaxInt64, n)...))
	}
	return found[:min(n, len(found))]
}

// prev returns the latest occurrence in (floor, t].
func (r *recurrence) prev(t, floor int64) (latest int64, ok bool) {
	for i, mid := 0, r.midnight(t)+2*day; i < horizon; i, mid = i+1, mid-day {
		spans, matches := r.spans(mid)
		if !matches {
			continue
		}
		lower, _ := bounds(mid, spans)
		_, upper := bounds(mid+day, spans)
		if (ok && latest >= upper) || upper <= floor {
			break // this day and the earlier ones end before latest, or before floor
		}
		if lower > t {
			continue // this day starts after t
		}
		if cs := r.day(mid, spans, floor+1, t, 0); len(cs) > 0 && (!ok || cs[len(cs)-1] > latest) {
			latest, ok = cs[len(cs)-1], true
		}
	}
	return latest, ok
}

// midnight returns the wall of the start of the local day that contains the instant t.
func (r *recurrence) midnight(t int64) int64 {
	y, m, d := time.Unix(t, 0).In(r.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
}

// spans returns the zone's stretches around the local day starting at the wall mid, or false when the schedule does
// not run that day.
func (r *recurrence) spans(mid int64) ([]span, bool) {
	y, m, d := time.Unix(mid, 0).UTC().Date()
	if !r.matchesDay(y, m, d) {
		return nil, false
	}
	return spansAround(r.loc, mid, mid+day), true
}

// day returns the occurrences in [lo, hi] of the local day starting at the wall mid, sorted and without duplicates:
// each matching local time resolved to its instant (see resolve); in a repeated hour the first instant only, unless
// the schedule runs every hour. With limit > 0 it may stop once it holds the limit earliest ones.
func (r *recurrence) day(mid int64, spans []span, lo, hi int64, limit int) []int64 {
	both := r.everyHour()
	earliest, latest := bounds(0, spans) // -max and -min offset: a wall's instants lie in [w+earliest, w+latest]
	var out []int64
	var top int64 // the largest of out
	for h := int64(0); h < 24; h++ {
		if r.hour&(1<<h) == 0 {
			continue
		}
		for m := int64(0); m < 60; m++ {
			w := mid + h*3600 + m*60
			if r.minute&(1<<m) == 0 || w+latest < lo {
				continue
			}
			if w+earliest > hi || (limit > 0 && len(out) >= limit && w+earliest > top) {
				return sortedSet(out) // this wall and the later ones start after hi, or after the limit earliest
			}
			first, second, twice := resolve(w, spans)
			for _, c := range []int64{first, second}[:1+boolInt(twice && both)] {
				if lo <= c && c <= hi {
					out = append(out, c)
					top = max(top, c)
				}
			}
		}
	}
	return sortedSet(out)
}

func sortedSet(s []int64) []int64 {
	slices.Sort(s)
	return slices.Compact(s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
