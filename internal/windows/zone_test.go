package windows

import (
	"testing"
	"time"
)

// TestResolve pins local times to instants in gaps and overlaps, including a 30-minute change (Lord Howe), a
// skipped day (Samoa, 2011) and changes at midnight (Santiago).
func TestResolve(t *testing.T) {
	tests := []struct {
		zone          string
		local         string // wall clock, read in zone
		first, second string // second "" when the local time happens once
	}{
		{"UTC", "2026-03-29T02:30:00", "2026-03-29T02:30:00Z", ""},
		{"Europe/Berlin", "2026-03-29T01:59:00", "2026-03-29T00:59:00Z", ""},
		{"Europe/Berlin", "2026-03-29T02:00:00", "2026-03-29T01:00:00Z", ""}, // gap: 03:00 CEST
		{"Europe/Berlin", "2026-03-29T02:30:00", "2026-03-29T01:30:00Z", ""}, // gap: 03:30 CEST
		{"Europe/Berlin", "2026-03-29T03:00:00", "2026-03-29T01:00:00Z", ""},
		{"Europe/Berlin", "2026-10-25T01:59:00", "2026-10-24T23:59:00Z", ""},
		{"Europe/Berlin", "2026-10-25T02:00:00", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"},
		{"Europe/Berlin", "2026-10-25T02:30:00", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
		{"Europe/Berlin", "2026-10-25T03:00:00", "2026-10-25T02:00:00Z", ""},
		{"America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:30:00Z", ""}, // gap: 03:30 EDT
		{"America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"},
		{"America/New_York", "2026-11-01T02:30:00", "2026-11-01T07:30:00Z", ""},
		{"Australia/Lord_Howe", "2026-10-04T02:15:00", "2026-10-03T15:45:00Z", ""}, // 30-minute gap: 02:45 +11
		{"Australia/Lord_Howe", "2026-04-05T01:45:00", "2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z"},
		{"Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T22:00:00Z", ""}, // the skipped day: 31 Dec 12:00 +14
		{"Pacific/Apia", "2011-12-31T12:00:00", "2011-12-30T22:00:00Z", ""},
		{"America/Santiago", "2026-04-04T23:30:00", "2026-04-05T02:30:00Z", "2026-04-05T03:30:00Z"},
		{"America/Santiago", "2026-09-06T00:30:00", "2026-09-06T04:30:00Z", ""}, // gap at midnight: 01:30 -03
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.local, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			l, err := time.Parse("2006-01-02T15:04:05", tt.local)
			if err != nil {
				t.Fatal(err)
			}
			wall := l.Unix()
			first, second, twice := resolve(wall, spansAround(loc, wall, wall))
			got, want := time.Unix(first, 0).UTC(), at(tt.first)
			if !got.Equal(want) {
				t.Errorf("first %s, want %s", got.Format(time.RFC3339), tt.first)
			}
			if twice != (tt.second != "") {
				t.Fatalf("twice = %v, want second %q", twice, tt.second)
			}
			if twice {
				if got := time.Unix(second, 0).UTC(); !got.Equal(at(tt.second)) {
					t.Errorf("second %s, want %s", got.Format(time.RFC3339), tt.second)
				}
			}
		})
	}
}

// TestRecurringAtOddChanges: the rules hold where the change is at midnight or skips a whole day.
func TestRecurringAtOddChanges(t *testing.T) {
	tests := []struct {
		name, schedule, zone, now string
		want                      want
	}{
		{name: "Samoa skipped 30 December 2011: its noon is the noon of the 31st, once",
			schedule: "0 12 * * *", zone: "Pacific/Apia", now: "2011-12-29T00:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2011-12-29T22:00:00Z/2011-12-29T23:00:00Z", "2011-12-30T22:00:00Z/2011-12-30T23:00:00Z",
					"2011-12-31T22:00:00Z/2011-12-31T23:00:00Z"},
				boundary: "2011-12-29T22:00:00Z"}},
		{name: "Santiago repeats 23:00-24:00 of 4 April 2026: 23:30 once, at -03",
			schedule: "30 23 * * *", zone: "America/Santiago", now: "2026-04-04T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-04-05T02:30:00Z/2026-04-05T03:30:00Z", "2026-04-06T03:30:00Z/2026-04-06T04:30:00Z",
					"2026-04-07T03:30:00Z/2026-04-07T04:30:00Z"},
				boundary: "2026-04-05T02:30:00Z"}},
		{name: "Santiago skips 00:00-01:00 of 6 September 2026: 00:30 at 01:30 -03",
			schedule: "30 0 * * *", zone: "America/Santiago", now: "2026-09-05T12:00:00Z", want: want{
				phase: PhaseScheduled,
				next: []string{"2026-09-06T04:30:00Z/2026-09-06T05:30:00Z", "2026-09-07T03:30:00Z/2026-09-07T04:30:00Z",
					"2026-09-08T03:30:00Z/2026-09-08T04:30:00Z"},
				boundary: "2026-09-06T04:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, Evaluate(Spec{Schedule: tt.schedule, TimeZone: tt.zone, Duration: time.Hour}, at(tt.now)), tt.want)
		})
	}
}
