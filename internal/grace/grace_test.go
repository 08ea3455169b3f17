package grace

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestUntil(t *testing.T) {
	berlin, newYork := mustZone(t, "Europe/Berlin"), mustZone(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name          string
		notReadySince time.Time
		period        time.Duration
		want          time.Time
	}{
		{"whole seconds", utc("2026-12-02T10:00:00Z"), 30 * time.Second, utc("2026-12-02T10:00:30Z")},
		{"fraction rounds up", utc("2026-12-02T10:00:00.001Z"), 30 * time.Second, utc("2026-12-02T10:00:31Z")},
		{"fraction of the period rounds up", utc("2026-12-02T10:00:00Z"), 1500 * time.Millisecond,
			utc("2026-12-02T10:00:02Z")},
		{"zero period", utc("2026-12-02T10:00:00.5Z"), 0, utc("2026-12-02T10:00:01Z")},
		// 2026-03-29 02:00 CET -> 03:00 CEST: a local clock would read 03:00:30, an hour later, and wrongly so.
		{"Berlin spring forward", time.Date(2026, 3, 29, 1, 59, 45, 0, berlin), 45 * time.Second,
			utc("2026-03-29T01:00:30Z")},
		// 2026-10-25 03:00 CEST -> 02:00 CET: the same local times happen twice; elapsed time is what counts.
		{"Berlin fall back", time.Date(2026, 10, 25, 0, 59, 50, 0, time.UTC).In(berlin), time.Minute,
			utc("2026-10-25T01:00:50Z")},
		{"New York spring forward", time.Date(2026, 3, 8, 1, 59, 30, 250_000_000, newYork), time.Hour,
			utc("2026-03-08T07:59:31Z")},
		{"New York fall back", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC).In(newYork), 45 * time.Minute,
			utc("2026-11-01T06:15:00Z")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Until(tc.notReadySince, tc.period)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("Until(%v, %v) = %v, want %v (UTC)", tc.notReadySince, tc.period, got, tc.want)
			}
			if got.Before(tc.notReadySince.Add(tc.period)) {
				t.Errorf("Until(%v, %v) = %v is shorter than the period", tc.notReadySince, tc.period, got)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	// The fake clock: fixed instants around a spell that starts at since.
	since := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	exact := since.Add(400 * time.Millisecond) // the instant first seen, before the API dropped the fraction
	// A spell that starts 15 s before Berlin's 2026-10-25 fall back (03:00 CEST -> 02:00 CET, at 01:00 UTC): it
	// starts at 02:59:45 CEST and its grace period ends at 02:00:15 CET, local clocks reading backwards.
	dst := time.Date(2026, 10, 25, 0, 59, 45, 0, time.UTC).In(berlin)
	for _, tc := range []struct {
		name          string
		notReadySince time.Time
		period        time.Duration
		recorded, now time.Time
		wantCounts    bool
		wantUntil     time.Time
	}{
		{"no grace period counts at once", since, 0, time.Time{}, since, true, time.Time{}},
		{"negative period counts at once", since, -time.Second, time.Time{}, since, true, time.Time{}},
		{"first seen: within", since, 30 * time.Second, time.Time{}, since, false, since.Add(30 * time.Second)},
		{"a second before the end", since, 30 * time.Second, time.Time{}, since.Add(29 * time.Second), false,
			since.Add(30 * time.Second)},
		{"at the end it counts", since, 30 * time.Second, time.Time{}, since.Add(30 * time.Second), true, time.Time{}},
		{"after the end it counts", since, 30 * time.Second, time.Time{}, since.Add(time.Hour), true, time.Time{}},
		{"exact instant rounds up", exact, 30 * time.Second, time.Time{}, exact, false, since.Add(31 * time.Second)},
		{"recorded from the exact instant is kept", since, 30 * time.Second, since.Add(31 * time.Second),
			since.Add(30 * time.Second), false, since.Add(31 * time.Second)},
		{"recorded for a longer period is ignored", since, 30 * time.Second, since.Add(time.Minute),
			since.Add(30 * time.Second), true, time.Time{}},
		{"recorded for a shorter period is ignored", since, time.Minute, since.Add(30 * time.Second),
			since.Add(40 * time.Second), false, since.Add(time.Minute)},
		{"across a DST change: within", dst, 30 * time.Second, time.Time{}, dst.Add(29 * time.Second), false,
			time.Date(2026, 10, 25, 1, 0, 15, 0, time.UTC)},
		{"across a DST change: ends after elapsed time", dst, 30 * time.Second, time.Time{},
			time.Date(2026, 10, 25, 1, 0, 15, 0, time.UTC).In(berlin), true, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts, until := Evaluate(tc.notReadySince, tc.period, tc.recorded, tc.now)
			if counts != tc.wantCounts || !until.Equal(tc.wantUntil) {
				t.Errorf("Evaluate(%v, %v, %v, %v) = %v, %v; want %v, %v", tc.notReadySince, tc.period, tc.recorded,
					tc.now, counts, until, tc.wantCounts, tc.wantUntil)
			}
		})
	}
}
