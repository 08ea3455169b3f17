package windows

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var propertyZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
	"Asia/Kolkata", "Pacific/Chatham", "Asia/Tehran"}

// randomField writes a random valid cron field: *, a value, a range, a step, a list or a stepped range.
func randomField(r *rand.Rand, f field) string {
	value := func() int { return f.min + r.IntN(f.max-f.min+1) }
	name := func(v int) string {
		if f.names != nil && r.IntN(3) == 0 {
			return strings.ToLower(f.names[v-f.min])
		}
		return fmt.Sprint(v)
	}
	switch r.IntN(7) {
	case 0, 1:
		return "*"
	case 2:
		return name(value())
	case 3:
		a, b := value(), value()
		return name(min(a, b)) + "-" + name(max(a, b))
	case 4:
		return fmt.Sprintf("*/%d", 1+r.IntN(f.max-f.min+1))
	case 5:
		return name(value()) + "," + name(value()) + "," + name(value())
	default:
		a, b := value(), value()
		return fmt.Sprintf("%d-%d/%d", min(a, b), max(a, b), 1+r.IntN(5))
	}
}

// randomSchedule writes a random schedule that parses; the day fields are * more often, so that most run often.
func randomSchedule(r *rand.Rand) (string, schedule) {
	for {
		parts := make([]string, 5)
		for i, f := range fields {
			parts[i] = randomField(r, f)
			if i >= 2 && r.IntN(2) == 0 {
				parts[i] = "*"
			}
		}
		expr := strings.Join(parts, " ")
		if s, err := parseSchedule(expr); err == nil {
			return expr, s
		}
	}
}

func same(a, b State) bool {
	return a.Phase == b.Phase && occ(a.Current) == occ(b.Current) && occ(a.Upcoming) == occ(b.Upcoming) &&
		slices.EqualFunc(a.Next, b.Next, func(x, y Occurrence) bool { return occ(&x) == occ(&y) })
}

// TestProperties evaluates random schedules at random instants of 2026 in zones with and without DST (30-minute
// and 45-minute offsets, changes at midnight) and checks what must hold whatever the schedule: Next is strictly
// increasing and after now, Current covers now, Upcoming follows Announce, nothing changes before NextBoundary and
// something changes at it; walking a schedule through the year gives strictly increasing starts.
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	year := at("2026-01-01T00:00:00Z")
	for i := range 300 {
		expr, _ := randomSchedule(r)
		spec := Spec{
			Schedule: expr,
			TimeZone: propertyZones[r.IntN(len(propertyZones))],
			Duration: time.Duration(1+r.IntN(48*60)) * time.Minute,
			Announce: time.Duration(r.IntN(48*60)) * time.Minute,
		}
		name := fmt.Sprintf("%d %q in %s for %s announce %s", i, spec.Schedule, spec.TimeZone, spec.Duration, spec.Announce)

		for range 10 {
			now := year.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
			st := Evaluate(spec, now)
			checkState(t, name, spec, now, st)

			// Nothing changes before NextBoundary, something changes at it.
			if !st.NextBoundary.IsZero() {
				between := now.Add(time.Duration(r.Int64N(int64(st.NextBoundary.Sub(now)))))
				for _, t2 := range []time.Time{between, st.NextBoundary.Add(-time.Nanosecond)} {
					if got := Evaluate(spec, t2); !same(got, st) {
						t.Fatalf("%s: state at %s differs from the one at %s, before its boundary %s",
							name, t2, now, st.NextBoundary)
					}
				}
				if got := Evaluate(spec, st.NextBoundary); same(got, st) {
					t.Fatalf("%s: nothing changed at the boundary %s of %s", name, st.NextBoundary, now)
				}
			}
			// At the next start: active in that occurrence, and the rest of Next moves up.
			if len(st.Next) > 0 {
				got := Evaluate(spec, st.Next[0].Start)
				if got.Phase != PhaseActive || occ(got.Current) != occ(&st.Next[0]) {
					t.Fatalf("%s: at %s, phase %s current %q; want Active in it", name, st.Next[0].Start, got.Phase,
						occ(got.Current))
				}
				for j := 1; j < len(st.Next); j++ {
					if occ(&got.Next[j-1]) != occ(&st.Next[j]) {
						t.Fatalf("%s: at %s, Next[%d] is %q, want %q", name, st.Next[0].Start, j-1,
							occ(&got.Next[j-1]), occ(&st.Next[j]))
					}
				}
			}
		}

		// Walk the year (at most 500 occurrences): strictly increasing starts.
		now := year
		for range 500 {
			st := Evaluate(spec, now)
			if len(st.Next) == 0 || st.Next[0].Start.Year() > 2026 {
				break
			}
			if !st.Next[0].Start.After(now) {
				t.Fatalf("%s: after %s, the next start is %s", name, now, st.Next[0].Start)
			}
			now = st.Next[0].Start
		}
	}
}

func checkState(t *testing.T, name string, spec Spec, now time.Time, st State) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s at %s: %s\n%+v", name, now.Format(time.RFC3339Nano), fmt.Sprintf(format, args...), st)
	}
	if st.Phase != PhaseScheduled && st.Phase != PhaseActive {
		fail("phase %s", st.Phase)
	}
	if (st.Phase == PhaseActive) != (st.Current != nil) {
		fail("phase %s with current %v", st.Phase, st.Current)
	}
	if c := st.Current; c != nil {
		if c.Start.After(now) || !c.End.After(now) || c.End.Sub(c.Start) != spec.Duration {
			fail("current %s does not cover now", occ(c))
		}
	}
	if len(st.Next) == 0 || len(st.Next) > maxNext {
		fail("%d next occurrences", len(st.Next))
	}
	for i, n := range st.Next {
		if !n.Start.After(now) || n.End.Sub(n.Start) != spec.Duration || n.Start.Location() != time.UTC ||
			n.Start.Second() != 0 {
			fail("next[%d] %s", i, occ(&n))
		}
		if i > 0 && !n.Start.After(st.Next[i-1].Start) {
			fail("next[%d] %s is not after next[%d]", i, occ(&n), i-1)
		}
	}
	if c := st.Current; c != nil && !st.Next[0].Start.After(c.Start) {
		fail("next %s does not start after current %s", occ(&st.Next[0]), occ(c))
	}
	announced := !now.Before(st.Next[0].Start.Add(-spec.Announce))
	if announced != (st.Upcoming != nil) || (announced && occ(st.Upcoming) != occ(&st.Next[0])) {
		fail("upcoming %q with next %s and announce %s", occ(st.Upcoming), occ(&st.Next[0]), spec.Announce)
	}
	if !st.NextBoundary.After(now) {
		fail("boundary %s is not after now", st.NextBoundary)
	}
}

// TestAgainstBruteForce compares the occurrences found around real DST changes with a definition that steps through
// every minute and uses only time.Time.In: an instant x is an occurrence when
//   - its local time matches and no earlier instant has the same local time (or the schedule runs every hour), or
//   - it is a matching local time that does not exist, read in the offset in force before the jump.
func TestAgainstBruteForce(t *testing.T) {
	changes := []struct{ zone, at string }{
		{"Europe/Berlin", "2026-03-29T01:00:00Z"},
		{"Europe/Berlin", "2026-10-25T01:00:00Z"},
		{"America/New_York", "2026-03-08T07:00:00Z"},
		{"America/New_York", "2026-11-01T06:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-04T15:00:00Z"},
		{"Australia/Lord_Howe", "2026-10-03T15:30:00Z"},
		{"America/Santiago", "2026-04-05T03:00:00Z"},
		{"America/Santiago", "2026-09-06T04:00:00Z"},
		{"Pacific/Apia", "2011-12-30T10:00:00Z"},
	}
	r := rand.New(rand.NewPCG(16, 16))
	for _, c := range changes {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		from, to := at(c.at).Add(-36*time.Hour), at(c.at).Add(36*time.Hour)
		offsets := map[int]bool{}
		for x := from.Add(-48 * time.Hour); x.Before(to.Add(48 * time.Hour)); x = x.Add(15 * time.Minute) {
			_, o := x.In(loc).Zone()
			offsets[o] = true
		}
		wallOf := func(x time.Time) time.Time {
			l := x.In(loc)
			return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
		}
		exists := func(w time.Time) bool {
			for o := range offsets {
				if wallOf(w.Add(-time.Duration(o) * time.Second)).Equal(w) {
					return true
				}
			}
			return false
		}

		for i := range 60 {
			expr, s := randomSchedule(r)
			if i%3 == 0 { // around the change: hours 0-4 and every hour
				expr = strings.Join([]string{randomField(r, fields[0]),
					[]string{"*", "0-4", "1", "2", "23", "0", "1,2,3"}[r.IntN(7)], "*", "*", "*"}, " ")
				var err error
				if s, err = parseSchedule(expr); err != nil {
					t.Fatal(err)
				}
			}
			matches := func(w time.Time) bool {
				return s.matchesDay(w.Year(), w.Month(), w.Day()) && s.hour&(1<<w.Hour()) != 0 &&
					s.minute&(1<<w.Minute()) != 0
			}
			var want []time.Time
			for x := from; x.Before(to); x = x.Add(time.Minute) {
				w := wallOf(x)
				_, offX := x.In(loc).Zone()
				occurs := false
				if matches(w) {
					occurs = true
					for o := range offsets {
						if y := w.Add(-time.Duration(o) * time.Second); y.Before(x) && wallOf(y).Equal(w) && !s.everyHour() {
							occurs = false
						}
					}
				}
				for o := range offsets {
					gap := time.Duration(offX-o) * time.Second
					if _, before := x.Add(-gap).In(loc).Zone(); gap > 0 && before == o {
						if w2 := x.Add(time.Duration(o) * time.Second).UTC(); !exists(w2) && matches(w2) {
							occurs = true
						}
					}
				}
				if occurs {
					want = append(want, x)
				}
			}
			got := walk(t, Spec{Schedule: expr, TimeZone: c.zone, Duration: time.Minute}, from, to)
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Fatalf("%q in %s from %s:\ngot  %s\nwant %s", expr, c.zone, from, timesString(got), timesString(want))
			}
		}
	}
}
