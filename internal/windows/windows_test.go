package windows

import (
	"strings"
	"testing"
	"time"
)

// at parses an RFC 3339 instant; "" is the zero time.
func at(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr(s string) *time.Time {
	t := at(s)
	return &t
}

// utc formats an instant in UTC for comparisons; nil is "".
func utc(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// want is the expected State in strings: occurrences as "start/end" (end "" when open-ended).
type want struct {
	phase    Phase
	current  string
	next     []string
	upcoming string
	boundary string
}

func occ(o *Occurrence) string {
	if o == nil {
		return ""
	}
	return utc(&o.Start) + "/" + utc(o.End)
}

func check(t *testing.T, got State, w want) {
	t.Helper()
	next := make([]string, 0, len(got.Next))
	for i := range got.Next {
		next = append(next, occ(&got.Next[i]))
	}
	if got.Phase != w.phase || occ(got.Current) != w.current || strings.Join(next, " ") != strings.Join(w.next, " ") ||
		occ(got.Upcoming) != w.upcoming || utc(&got.NextBoundary) != utc(ptr(w.boundary)) {
		t.Errorf("got  phase %s current %q next %q upcoming %q boundary %s (%s %s)\nwant phase %s current %q next %q upcoming %q boundary %s",
			got.Phase, occ(got.Current), next, occ(got.Upcoming), utc(&got.NextBoundary), got.Reason, got.Message,
			w.phase, w.current, w.next, w.upcoming, w.boundary)
	}
}

// TestRecurringAcrossDST pins the rules of the package documentation with fixed instants around the 2026 changes:
// Europe/Berlin jumps 02:00 CET -> 03:00 CEST on 29 March and goes back 03:00 CEST -> 02:00 CET on 25 October;
// America/New_York jumps 02:00 EST -> 03:00 EDT on 8 March and goes back 02:00 EDT -> 01:00 EST on 1 November.
func TestRecurringAcrossDST(t *testing.T) {
	const berlin, newYork = "Europe/Berlin", "America/New_York"
	tests := []struct {
		name     string
		schedule string
		zone     string
		duration time.Duration
		announce time.Duration
		now      string
		want     want
	}{
		// Daily 02:30 in the spring gap: shifted by the gap, 03:30 CEST = 01:30 UTC.
		{name: "berlin gap: 02:30 happens at 03:30 CEST", schedule: "30 2 * * *", zone: berlin,
			duration: 30 * time.Minute, announce: time.Hour, now: "2026-03-28T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-03-29T01:30:00Z/2026-03-29T02:00:00Z", "2026-03-30T00:30:00Z/2026-03-30T01:00:00Z",
					"2026-03-31T00:30:00Z/2026-03-31T01:00:00Z"},
				boundary: "2026-03-29T00:30:00Z"}},
		{name: "berlin gap: the shifted occurrence is active", schedule: "30 2 * * *", zone: berlin,
			duration: 30 * time.Minute, announce: time.Hour, now: "2026-03-29T01:45:00Z", want: want{
				phase: PhaseActive, current: "2026-03-29T01:30:00Z/2026-03-29T02:00:00Z",
				next: []string{"2026-03-30T00:30:00Z/2026-03-30T01:00:00Z", "2026-03-31T00:30:00Z/2026-03-31T01:00:00Z",
					"2026-04-01T00:30:00Z/2026-04-01T01:00:00Z"},
				boundary: "2026-03-29T02:00:00Z"}},
		// Daily 02:30 in the autumn overlap: once, at the first instant (CEST).
		{name: "berlin overlap: 02:30 happens once, in CEST", schedule: "30 2 * * *", zone: berlin,
			duration: 30 * time.Minute, announce: time.Hour, now: "2026-10-24T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-10-25T00:30:00Z/2026-10-25T01:00:00Z", "2026-10-26T01:30:00Z/2026-10-26T02:00:00Z",
					"2026-10-27T01:30:00Z/2026-10-27T02:00:00Z"},
				boundary: "2026-10-24T23:30:00Z"}},
		{name: "berlin overlap: not again at 02:30 CET", schedule: "30 2 * * *", zone: berlin,
			duration: 30 * time.Minute, announce: time.Hour, now: "2026-10-25T01:30:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-10-26T01:30:00Z/2026-10-26T02:00:00Z", "2026-10-27T01:30:00Z/2026-10-27T02:00:00Z",
					"2026-10-28T01:30:00Z/2026-10-28T02:00:00Z"},
				boundary: "2026-10-26T00:30:00Z"}},
		{name: "new york gap: 02:30 happens at 03:30 EDT", schedule: "30 2 * * *", zone: newYork,
			duration: time.Hour, now: "2026-03-07T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-03-08T07:30:00Z/2026-03-08T08:30:00Z", "2026-03-09T06:30:00Z/2026-03-09T07:30:00Z",
					"2026-03-10T06:30:00Z/2026-03-10T07:30:00Z"},
				boundary: "2026-03-08T07:30:00Z"}},
		{name: "new york overlap: 01:30 happens once, in EDT", schedule: "30 1 * * *", zone: newYork,
			duration: time.Hour, now: "2026-10-31T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-11-01T05:30:00Z/2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z/2026-11-02T07:30:00Z",
					"2026-11-03T06:30:00Z/2026-11-03T07:30:00Z"},
				boundary: "2026-11-01T05:30:00Z"}},
		{name: "new york: 02:30 on the autumn day is not ambiguous (EST)", schedule: "30 2 * * *", zone: newYork,
			duration: time.Hour, now: "2026-10-31T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-11-01T07:30:00Z/2026-11-01T08:30:00Z", "2026-11-02T07:30:00Z/2026-11-02T08:30:00Z",
					"2026-11-03T07:30:00Z/2026-11-03T08:30:00Z"},
				boundary: "2026-11-01T07:30:00Z"}},
		// Weekly on Sunday 03:00 around the changes: the same local time, a different UTC time.
		{name: "berlin weekly across spring", schedule: "0 3 * * 0", zone: berlin, duration: time.Hour,
			announce: 24 * time.Hour, now: "2026-03-21T00:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-03-22T02:00:00Z/2026-03-22T03:00:00Z", "2026-03-29T01:00:00Z/2026-03-29T02:00:00Z",
					"2026-04-05T01:00:00Z/2026-04-05T02:00:00Z"},
				boundary: "2026-03-21T02:00:00Z"}}, // announced 24 h before 03:00 CET
		{name: "berlin weekly across autumn", schedule: "0 3 * * SUN", zone: berlin, duration: time.Hour,
			announce: 24 * time.Hour, now: "2026-10-18T01:30:00Z", want: want{
				phase: PhaseActive, current: "2026-10-18T01:00:00Z/2026-10-18T02:00:00Z",
				next: []string{"2026-10-25T02:00:00Z/2026-10-25T03:00:00Z", "2026-11-01T02:00:00Z/2026-11-01T03:00:00Z",
					"2026-11-08T02:00:00Z/2026-11-08T03:00:00Z"},
				boundary: "2026-10-18T02:00:00Z"}},
		{name: "new york weekly across spring", schedule: "0 3 * * 7", zone: newYork, duration: time.Hour,
			now: "2026-03-01T00:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-03-01T08:00:00Z/2026-03-01T09:00:00Z", "2026-03-08T07:00:00Z/2026-03-08T08:00:00Z",
					"2026-03-15T07:00:00Z/2026-03-15T08:00:00Z"},
				boundary: "2026-03-01T08:00:00Z"}},
		{name: "new york weekly across autumn", schedule: "0 3 * * 0", zone: newYork, duration: time.Hour,
			now: "2026-10-25T00:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-10-25T07:00:00Z/2026-10-25T08:00:00Z", "2026-11-01T08:00:00Z/2026-11-01T09:00:00Z",
					"2026-11-08T08:00:00Z/2026-11-08T09:00:00Z"},
				boundary: "2026-10-25T07:00:00Z"}},
		{name: "berlin weekly 02:30 on the spring Sunday", schedule: "30 2 * * 0", zone: berlin, duration: time.Hour,
			now: "2026-03-28T00:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-03-29T01:30:00Z/2026-03-29T02:30:00Z", "2026-04-05T00:30:00Z/2026-04-05T01:30:00Z",
					"2026-04-12T00:30:00Z/2026-04-12T01:30:00Z"},
				boundary: "2026-03-29T01:30:00Z"}},
		// A 30-minute window crossing the change lasts 30 real minutes.
		{name: "berlin spring: 01:45 CET for 30m ends 03:15 CEST", schedule: "45 1 * * *", zone: berlin,
			duration: 30 * time.Minute, now: "2026-03-29T01:10:00Z", want: want{
				phase: PhaseActive, current: "2026-03-29T00:45:00Z/2026-03-29T01:15:00Z",
				next: []string{"2026-03-29T23:45:00Z/2026-03-30T00:15:00Z", "2026-03-30T23:45:00Z/2026-03-31T00:15:00Z",
					"2026-03-31T23:45:00Z/2026-04-01T00:15:00Z"},
				boundary: "2026-03-29T01:15:00Z"}},
		{name: "berlin autumn: 02:45 CEST for 30m ends 02:15 CET", schedule: "45 2 * * *", zone: berlin,
			duration: 30 * time.Minute, now: "2026-10-25T01:00:00Z", want: want{
				phase: PhaseActive, current: "2026-10-25T00:45:00Z/2026-10-25T01:15:00Z",
				next: []string{"2026-10-26T01:45:00Z/2026-10-26T02:15:00Z", "2026-10-27T01:45:00Z/2026-10-27T02:15:00Z",
					"2026-10-28T01:45:00Z/2026-10-28T02:15:00Z"},
				boundary: "2026-10-25T01:15:00Z"}},
		{name: "berlin autumn: 01:45 CEST for 30m ends 02:15 CEST", schedule: "45 1 * * *", zone: berlin,
			duration: 30 * time.Minute, now: "2026-10-25T00:00:00Z", want: want{
				phase: PhaseActive, current: "2026-10-24T23:45:00Z/2026-10-25T00:15:00Z",
				next: []string{"2026-10-26T00:45:00Z/2026-10-26T01:15:00Z", "2026-10-27T00:45:00Z/2026-10-27T01:15:00Z",
					"2026-10-28T00:45:00Z/2026-10-28T01:15:00Z"},
				boundary: "2026-10-25T00:15:00Z"}},
		{name: "new york autumn: 01:45 EDT for 30m ends 01:15 EST", schedule: "45 1 * * *", zone: newYork,
			duration: 30 * time.Minute, now: "2026-11-01T06:00:00Z", want: want{
				phase: PhaseActive, current: "2026-11-01T05:45:00Z/2026-11-01T06:15:00Z",
				next: []string{"2026-11-02T06:45:00Z/2026-11-02T07:15:00Z", "2026-11-03T06:45:00Z/2026-11-03T07:15:00Z",
					"2026-11-04T06:45:00Z/2026-11-04T07:15:00Z"},
				boundary: "2026-11-01T06:15:00Z"}},
		// Overlapping occurrences: the current one is the latest started; Current moves at each start.
		{name: "overlap: 90m every hour", schedule: "0 * * * *", duration: 90 * time.Minute,
			now: "2026-06-01T10:15:00Z", want: want{
				phase: PhaseActive, current: "2026-06-01T10:00:00Z/2026-06-01T11:30:00Z",
				next: []string{"2026-06-01T11:00:00Z/2026-06-01T12:30:00Z", "2026-06-01T12:00:00Z/2026-06-01T13:30:00Z",
					"2026-06-01T13:00:00Z/2026-06-01T14:30:00Z"},
				boundary: "2026-06-01T11:00:00Z"}},
		// Announce boundaries of a recurring window.
		{name: "announce: before the announce instant", schedule: "0 3 * * *", duration: time.Hour,
			announce: time.Hour, now: "2026-06-01T01:59:59Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-06-01T03:00:00Z/2026-06-01T04:00:00Z", "2026-06-02T03:00:00Z/2026-06-02T04:00:00Z",
					"2026-06-03T03:00:00Z/2026-06-03T04:00:00Z"},
				boundary: "2026-06-01T02:00:00Z"}},
		{name: "announce: at the announce instant", schedule: "0 3 * * *", duration: time.Hour,
			announce: time.Hour, now: "2026-06-01T02:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-06-01T03:00:00Z/2026-06-01T04:00:00Z", "2026-06-02T03:00:00Z/2026-06-02T04:00:00Z",
					"2026-06-03T03:00:00Z/2026-06-03T04:00:00Z"},
				upcoming: "2026-06-01T03:00:00Z/2026-06-01T04:00:00Z", boundary: "2026-06-01T03:00:00Z"}},
		{name: "announce: active, the next one beyond announce", schedule: "0 3 * * *", duration: time.Hour,
			announce: time.Hour, now: "2026-06-01T03:00:00Z", want: want{
				phase: PhaseActive, current: "2026-06-01T03:00:00Z/2026-06-01T04:00:00Z",
				next: []string{"2026-06-02T03:00:00Z/2026-06-02T04:00:00Z", "2026-06-03T03:00:00Z/2026-06-03T04:00:00Z",
					"2026-06-04T03:00:00Z/2026-06-04T04:00:00Z"},
				boundary: "2026-06-01T04:00:00Z"}},
		{name: "announce: longer than the interval, always upcoming", schedule: "*/20 * * * *",
			duration: 5 * time.Minute, announce: 24 * time.Hour, now: "2026-06-01T10:07:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-06-01T10:20:00Z/2026-06-01T10:25:00Z", "2026-06-01T10:40:00Z/2026-06-01T10:45:00Z",
					"2026-06-01T11:00:00Z/2026-06-01T11:05:00Z"},
				upcoming: "2026-06-01T10:20:00Z/2026-06-01T10:25:00Z", boundary: "2026-06-01T10:20:00Z"}},
		{name: "active at its very start, ended at its very end", schedule: "0 3 * * *", duration: time.Hour,
			now: "2026-06-01T04:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-06-02T03:00:00Z/2026-06-02T04:00:00Z", "2026-06-03T03:00:00Z/2026-06-03T04:00:00Z",
					"2026-06-04T03:00:00Z/2026-06-04T04:00:00Z"},
				boundary: "2026-06-02T03:00:00Z"}},
		{name: "sub-second now inside an occurrence", schedule: "0 3 * * *", duration: time.Hour,
			now: "2026-06-01T03:59:59.999Z", want: want{
				phase: PhaseActive, current: "2026-06-01T03:00:00Z/2026-06-01T04:00:00Z",
				next: []string{"2026-06-02T03:00:00Z/2026-06-02T04:00:00Z", "2026-06-03T03:00:00Z/2026-06-03T04:00:00Z",
					"2026-06-04T03:00:00Z/2026-06-04T04:00:00Z"},
				boundary: "2026-06-01T04:00:00Z"}},
		// The Vixie rule: both day fields restricted, either matches.
		{name: "the 13th or a Friday", schedule: "0 12 13 * 5", duration: time.Hour,
			now: "2026-02-10T00:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-02-13T12:00:00Z/2026-02-13T13:00:00Z", "2026-02-20T12:00:00Z/2026-02-20T13:00:00Z",
					"2026-02-27T12:00:00Z/2026-02-27T13:00:00Z"},
				boundary: "2026-02-13T12:00:00Z"}},
		{name: "29 February comes back in 2028", schedule: "0 0 29 2 *", duration: time.Hour,
			now: "2026-01-01T00:00:00Z", want: want{
				phase:    PhaseScheduled,
				next:     []string{"2028-02-29T00:00:00Z/2028-02-29T01:00:00Z", "2032-02-29T00:00:00Z/2032-02-29T01:00:00Z"},
				boundary: "2028-02-29T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Schedule: tt.schedule, TimeZone: tt.zone, Duration: tt.duration, Announce: tt.announce}
			check(t, Evaluate(spec, at(tt.now)), tt.want)
		})
	}
}

// TestHourlyAcrossDST: "0 * * * *" and "30 * * * *" run every real hour through both changes, with no duplicated
// and no missing hour in UTC: 23 occurrences on a spring day, 25 on an autumn day. A schedule that does not run
// every hour (here every hour but 5) keeps the rule "once, at the first instant" in the repeated hour.
func TestHourlyAcrossDST(t *testing.T) {
	tests := []struct {
		zone, schedule string
		from, to       string // the local day in UTC: [from, to)
		count          int
		gap            time.Duration // between consecutive occurrences
	}{
		{"Europe/Berlin", "0 * * * *", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23, time.Hour},
		{"Europe/Berlin", "0 * * * *", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25, time.Hour},
		{"Europe/Berlin", "30 * * * *", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23, time.Hour},
		{"Europe/Berlin", "30 * * * *", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25, time.Hour},
		{"America/New_York", "0 * * * *", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 23, time.Hour},
		{"America/New_York", "0 * * * *", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25, time.Hour},
		{"America/New_York", "*/30 0-23 * * *", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 50, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.schedule+" "+tt.from, func(t *testing.T) {
			got := walk(t, Spec{Schedule: tt.schedule, TimeZone: tt.zone, Duration: time.Minute}, at(tt.from), at(tt.to))
			if len(got) != tt.count {
				t.Fatalf("%d occurrences, want %d: %v", len(got), tt.count, got)
			}
			for i := 1; i < len(got); i++ {
				if d := got[i].Sub(got[i-1]); d != tt.gap {
					t.Fatalf("%s after %s: %s apart, want %s", got[i], got[i-1], d, tt.gap)
				}
			}
		})
	}

	t.Run("Europe/Berlin not every hour: the repeated hour once", func(t *testing.T) {
		got := walk(t, Spec{Schedule: "0 0-4,6-23 * * *", TimeZone: "Europe/Berlin", Duration: time.Minute},
			at("2026-10-24T22:00:00Z"), at("2026-10-25T04:00:00Z"))
		want := "2026-10-24T22:00:00Z 2026-10-24T23:00:00Z 2026-10-25T00:00:00Z " + // 00, 01, 02 CEST
			"2026-10-25T02:00:00Z 2026-10-25T03:00:00Z " // 03, 04 CET; not 02 CET
		if s := timesString(got); s != want {
			t.Fatalf("got  %s\nwant %s", s, want)
		}
	})
}

func timesString(ts []time.Time) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.UTC().Format(time.RFC3339) + " ")
	}
	return b.String()
}

// walk lists the starts in [from, to) by asking Evaluate repeatedly with now just before the next start.
func walk(t *testing.T, spec Spec, from, to time.Time) []time.Time {
	t.Helper()
	var starts []time.Time
	now := from.Add(-time.Second)
	for {
		st := Evaluate(spec, now)
		if st.Phase == PhaseInvalid {
			t.Fatalf("invalid: %s", st.Message)
		}
		if len(st.Next) == 0 || !st.Next[0].Start.Before(to) {
			return starts
		}
		starts = append(starts, st.Next[0].Start)
		now = st.Next[0].Start
	}
}

func TestOneOff(t *testing.T) {
	start, end := ptr("2026-12-05T02:00:00+01:00"), ptr("2026-12-05T04:00:00+01:00")
	tests := []struct {
		name string
		spec Spec
		now  string
		want want
	}{
		{name: "end: before the announce", spec: Spec{Start: start, End: end, Announce: 24 * time.Hour},
			now: "2026-12-04T00:59:59Z", want: want{phase: PhaseScheduled,
				next: []string{"2026-12-05T01:00:00Z/2026-12-05T03:00:00Z"}, boundary: "2026-12-04T01:00:00Z"}},
		{name: "end: announced", spec: Spec{Start: start, End: end, Announce: 24 * time.Hour},
			now: "2026-12-04T01:00:00Z", want: want{phase: PhaseScheduled,
				next:     []string{"2026-12-05T01:00:00Z/2026-12-05T03:00:00Z"},
				upcoming: "2026-12-05T01:00:00Z/2026-12-05T03:00:00Z", boundary: "2026-12-05T01:00:00Z"}},
		{name: "end: announce 0 announces nothing", spec: Spec{Start: start, End: end},
			now: "2026-12-05T00:59:59Z", want: want{phase: PhaseScheduled,
				next: []string{"2026-12-05T01:00:00Z/2026-12-05T03:00:00Z"}, boundary: "2026-12-05T01:00:00Z"}},
		{name: "end: active at the start", spec: Spec{Start: start, End: end, Announce: 24 * time.Hour},
			now: "2026-12-05T01:00:00Z", want: want{phase: PhaseActive,
				current: "2026-12-05T01:00:00Z/2026-12-05T03:00:00Z", boundary: "2026-12-05T03:00:00Z"}},
		{name: "end: completed at the end", spec: Spec{Start: start, End: end},
			now: "2026-12-05T03:00:00Z", want: want{phase: PhaseCompleted}},
		{name: "end: completed long after", spec: Spec{Start: start, End: end},
			now: "2027-06-01T00:00:00Z", want: want{phase: PhaseCompleted}},
		{name: "duration: active", spec: Spec{Start: start, Duration: 90 * time.Minute},
			now: "2026-12-05T02:00:00Z", want: want{phase: PhaseActive,
				current: "2026-12-05T01:00:00Z/2026-12-05T02:30:00Z", boundary: "2026-12-05T02:30:00Z"}},
		{name: "duration: completed", spec: Spec{Start: start, Duration: 90 * time.Minute},
			now: "2026-12-05T02:30:00Z", want: want{phase: PhaseCompleted}},
		// Duration is elapsed time: 2h from 01:00 CET on Berlin's spring day ends at 04:00 CEST.
		{name: "duration across the spring change", spec: Spec{Start: ptr("2026-03-29T01:00:00+01:00"),
			Duration: 2 * time.Hour}, now: "2026-03-29T00:30:00Z", want: want{phase: PhaseActive,
			current: "2026-03-29T00:00:00Z/2026-03-29T02:00:00Z", boundary: "2026-03-29T02:00:00Z"}},
		{name: "open-ended: scheduled", spec: Spec{Start: start, Announce: time.Hour},
			now: "2026-12-01T00:00:00Z", want: want{phase: PhaseScheduled,
				next: []string{"2026-12-05T01:00:00Z/"}, boundary: "2026-12-05T00:00:00Z"}},
		{name: "open-ended: upcoming", spec: Spec{Start: start, Announce: time.Hour},
			now: "2026-12-05T00:30:00Z", want: want{phase: PhaseScheduled, next: []string{"2026-12-05T01:00:00Z/"},
				upcoming: "2026-12-05T01:00:00Z/", boundary: "2026-12-05T01:00:00Z"}},
		{name: "open-ended: active forever, no boundary", spec: Spec{Start: start},
			now: "2036-12-05T00:00:00Z", want: want{phase: PhaseActive, current: "2026-12-05T01:00:00Z/"}},
		{name: "a past start is accepted", spec: Spec{Start: ptr("2020-01-01T00:00:00Z"), End: ptr("2020-01-02T00:00:00Z")},
			now: "2026-01-01T00:00:00Z", want: want{phase: PhaseCompleted}},
		{name: "the time zone does not apply to a one-off window", spec: Spec{Start: start, End: end,
			TimeZone: "America/New_York"}, now: "2026-12-05T02:59:00Z", want: want{phase: PhaseActive,
			current: "2026-12-05T01:00:00Z/2026-12-05T03:00:00Z", boundary: "2026-12-05T03:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, Evaluate(tt.spec, at(tt.now)), tt.want) })
	}
}

func TestSuspend(t *testing.T) {
	for _, spec := range []Spec{
		{Schedule: "0 * * * *", Duration: time.Hour, Announce: 24 * time.Hour, Suspend: true}, // would be active
		{Start: ptr("2026-06-01T00:00:00Z"), Suspend: true},                                   // would be active
		{Start: ptr("2026-06-02T00:00:00Z"), Announce: 48 * time.Hour, Suspend: true},         // would be upcoming
		{Start: ptr("2026-05-01T00:00:00Z"), End: ptr("2026-05-02T00:00:00Z"), Suspend: true}, // would be completed
	} {
		check(t, Evaluate(spec, at("2026-06-01T10:00:00Z")), want{phase: PhaseSuspended})
	}
}

func TestInvalid(t *testing.T) {
	start, end := ptr("2026-12-05T02:00:00Z"), ptr("2026-12-05T04:00:00Z")
	tests := []struct {
		name     string
		spec     Spec
		reason   string
		contains []string // in the message
	}{
		{"minute 61", Spec{Schedule: "61 * * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "minute 61 is out of range 0-59"}},
		{"hour 24", Spec{Schedule: "0 24 * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "hour 24 is out of range 0-23"}},
		{"day 0", Spec{Schedule: "0 0 0 * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "day-of-month 0 is out of range 1-31"}},
		{"month 13", Spec{Schedule: "0 0 * 13 *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "month 13 is out of range 1-12"}},
		{"weekday 8", Spec{Schedule: "0 0 * * 8", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "day-of-week 8 is out of range 0-7"}},
		{"never runs", Spec{Schedule: "0 0 30 2 *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "names no day"}},
		{"six fields", Spec{Schedule: "0 0 3 * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "6 fields, want 5"}},
		{"TZ prefix", Spec{Schedule: "TZ=Europe/Berlin 0 3 * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "spec.timeZone"}},
		{"bare TZ=", Spec{Schedule: "TZ= 0 3 * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "time zone prefix"}},
		{"CRON_TZ prefix", Spec{Schedule: "CRON_TZ=UTC 0 3 * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "time zone prefix"}},
		{"macro", Spec{Schedule: "@daily", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.schedule", "1 fields, want 5"}},
		{"unknown zone", Spec{Schedule: "0 3 * * *", TimeZone: "Mars/Olympus", Duration: time.Hour},
			ReasonUnknownTimeZone, []string{"spec.timeZone", `"Mars/Olympus"`, "IANA"}},
		{"unknown zone on a one-off window", Spec{Start: start, TimeZone: "Mars/Olympus"}, ReasonUnknownTimeZone,
			[]string{"spec.timeZone"}},
		{"the machine's zone", Spec{Schedule: "0 3 * * *", TimeZone: "Local", Duration: time.Hour},
			ReasonUnknownTimeZone, []string{"spec.timeZone", `"Local"`}},
		{"a path", Spec{Schedule: "0 3 * * *", TimeZone: "../../etc/passwd", Duration: time.Hour},
			ReasonUnknownTimeZone, []string{"spec.timeZone"}},
		{"invalid even when suspended", Spec{Schedule: "61 * * * *", Duration: time.Hour, Suspend: true},
			ReasonInvalidSchedule, []string{"spec.schedule"}},
		// Shapes admission refuses, rejected here too.
		{"start and schedule", Spec{Start: start, Schedule: "0 3 * * *", Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.start", "spec.schedule"}},
		{"neither", Spec{Duration: time.Hour}, ReasonInvalidSchedule, []string{"spec.start", "spec.schedule"}},
		{"end with schedule", Spec{Schedule: "0 3 * * *", End: end, Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.end"}},
		{"schedule without duration", Spec{Schedule: "0 3 * * *"}, ReasonInvalidSchedule, []string{"spec.duration"}},
		{"end and duration", Spec{Start: start, End: end, Duration: time.Hour}, ReasonInvalidSchedule,
			[]string{"spec.end", "spec.duration"}},
		{"end not after start", Spec{Start: start, End: start}, ReasonInvalidSchedule, []string{"spec.end", "spec.start"}},
		{"negative duration", Spec{Start: start, Duration: -time.Hour}, ReasonInvalidSchedule, []string{"spec.duration"}},
		{"negative announce", Spec{Start: start, Announce: -time.Hour}, ReasonInvalidSchedule, []string{"spec.announce"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, message, ok := Validate(tt.spec)
			if ok || reason != tt.reason {
				t.Fatalf("Validate = %q, %q, %v; want reason %s", reason, message, ok, tt.reason)
			}
			for _, s := range tt.contains {
				if !strings.Contains(message, s) {
					t.Errorf("message %q does not contain %q", message, s)
				}
			}
			st := Evaluate(tt.spec, at("2026-12-05T03:00:00Z"))
			if st.Phase != PhaseInvalid || st.Reason != reason || st.Message != message || st.Current != nil ||
				st.Next != nil || st.Upcoming != nil || !st.NextBoundary.IsZero() {
				t.Errorf("Evaluate = %+v, want Invalid with the same reason and message and nothing else", st)
			}
		})
	}

	for _, spec := range []Spec{
		{Schedule: "0 3 * * *", Duration: time.Hour},
		{Schedule: "0 3 * * *", TimeZone: "UTC", Duration: time.Hour},
		{Schedule: "0 3 * * *", TimeZone: "Asia/Kolkata", Duration: time.Hour},
		{Start: start},
		{Start: start, End: end, Announce: time.Hour},
		{Start: start, Duration: time.Hour, TimeZone: "Europe/Berlin"},
	} {
		if reason, message, ok := Validate(spec); !ok {
			t.Errorf("Validate(%+v) = %s %q, want valid", spec, reason, message)
		}
	}
}
