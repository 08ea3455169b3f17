package windows

import (
	"math/bits"
	"slices"
	"strings"
	"testing"
	"time"
)

// values lists the set bits of b.
func values(b uint64) []int {
	var out []int
	for b != 0 {
		v := bits.TrailingZeros64(b)
		out = append(out, v)
		b &^= 1 << v
	}
	return out
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		expr                     string
		minute, hour, dom, month []int // nil: every value of the field
		dow                      []int
		domStar, dowStar         bool
	}{
		{expr: "0 3 * * 0", minute: []int{0}, hour: []int{3}, dow: []int{0}, domStar: true},
		{expr: "*/15 */6 * * *", minute: []int{0, 15, 30, 45}, hour: []int{0, 6, 12, 18}, domStar: true, dowStar: true},
		{expr: "5/15 1-10/3 * * *", minute: []int{5, 20, 35, 50}, hour: []int{1, 4, 7, 10}, domStar: true,
			dowStar: true},
		{expr: "0,30 9-17 * * MON-FRI", minute: []int{0, 30}, hour: []int{9, 10, 11, 12, 13, 14, 15, 16, 17},
			dow: []int{1, 2, 3, 4, 5}, domStar: true},
		{expr: "0 0 * jan,Jul sun", minute: []int{0}, hour: []int{0}, month: []int{1, 7}, dow: []int{0},
			domStar: true},
		{expr: "0 0 * * 7", minute: []int{0}, hour: []int{0}, dow: []int{0}, domStar: true},
		{expr: "0 0 * * 5-7", minute: []int{0}, hour: []int{0}, dow: []int{0, 5, 6}, domStar: true},
		{expr: "0 0 ? * ?", minute: []int{0}, hour: []int{0}, domStar: true, dowStar: true},
		{expr: "0 0 1,15 * *", minute: []int{0}, hour: []int{0}, dom: []int{1, 15}, dowStar: true},
		{expr: "0 0 */10 * 1", minute: []int{0}, hour: []int{0}, dom: []int{1, 11, 21, 31}, dow: []int{1}},
		{expr: "0 0 */1 * *", minute: []int{0}, hour: []int{0}, domStar: true, dowStar: true},
		{expr: "59 23 31 12 6", minute: []int{59}, hour: []int{23}, dom: []int{31}, month: []int{12}, dow: []int{6}},
		{expr: "*/100 * * * *", minute: []int{0}, domStar: true, dowStar: true},
		{expr: "  0   3  *  *  0 ", minute: []int{0}, hour: []int{3}, dow: []int{0}, domStar: true},
		{expr: "0\t3\t*\t*\t0", minute: []int{0}, hour: []int{3}, dow: []int{0}, domStar: true},
		{expr: "00 03 * * *", minute: []int{0}, hour: []int{3}, domStar: true, dowStar: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := parseSchedule(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name     string
				got      uint64
				want     []int
				min, max int
			}{
				{"minute", s.minute, tt.minute, 0, 59}, {"hour", s.hour, tt.hour, 0, 23},
				{"day-of-month", s.dom, tt.dom, 1, 31}, {"month", s.month, tt.month, 1, 12},
				{"day-of-week", s.dow, tt.dow, 0, 6},
			} {
				want := f.want
				if want == nil {
					want = every(f.min, f.max)
				}
				if got := values(f.got); !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", f.name, got, want)
				}
			}
			if s.domStar != tt.domStar || s.dowStar != tt.dowStar {
				t.Errorf("domStar, dowStar = %v, %v; want %v, %v", s.domStar, s.dowStar, tt.domStar, tt.dowStar)
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ expr, contains string }{
		{"", "0 fields"},
		{"* * * *", "4 fields"},
		{"* * * * * *", "6 fields"},
		{"60 * * * *", "minute 60 is out of range 0-59"},
		{"-1 * * * *", `"" in the minute field is not a number`},
		{"+1 * * * *", `"+1" in the minute field is not a number`},
		{"1.5 * * * *", "not a number"},
		{"x * * * *", `"x" in the minute field is not a number`},
		{"? * * * *", `"?" in the minute field`},
		{"* * * * JAN", "neither a number nor a name like MON"},
		{"* * * FOO *", "neither a number nor a name like FEB"},
		{"5-1 * * * *", `range "5-1" in the minute field runs backwards`},
		{"FRI-MON * * * *", "not a number"},
		{"* * * * FRI-MON", "runs backwards"},
		{"1- * * * *", "not a number"},
		{"*/0 * * * *", `step "0" in the minute field`},
		{"*/ * * * *", `step "" in the minute field`},
		{"*/x * * * *", `step "x"`},
		{"1,,2 * * * *", "empty list item"},
		{", * * * *", "empty list item"},
		{"99999999999999999999 * * * *", "not a number"},
		{"0 0 31 2,4,6 *", "names no day"},
		{"0 0 30,31 feb *", "names no day"},
		{"TZ=UTC * * * * *", "time zone prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := parseSchedule(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %v, want one containing %q", err, tt.contains)
			}
		})
	}
	// Reachable through a restricted day-of-week (either field matches) or on 29 February.
	for _, expr := range []string{"0 0 31 2 1", "0 0 29 2 *", "0 0 31 1-2 *"} {
		if _, err := parseSchedule(expr); err != nil {
			t.Errorf("%q: %v", expr, err)
		}
	}
}

// TestMatchesDay pins the day-of-month / day-of-week rule on June 2026 (1 June is a Monday).
func TestMatchesDay(t *testing.T) {
	tests := []struct {
		expr string
		days []int // of June 2026
	}{
		{"0 0 * * *", every(1, 30)},
		{"0 0 1 * *", []int{1}},
		{"0 0 * * MON", []int{1, 8, 15, 22, 29}},
		{"0 0 1 * MON", []int{1, 8, 15, 22, 29}},      // the 1st or Mondays
		{"0 0 13 * 5", []int{5, 12, 13, 19, 26}},      // the 13th or Fridays
		{"0 0 */10 * 0", []int{1, 7, 11, 14, 21, 28}}, // a step restricts: the 1st, 11th, 21st or Sundays
		{"0 0 ? * 0", []int{7, 14, 21, 28}},           // ? is *: Sundays only
		{"0 0 1-3 * ?", []int{1, 2, 3}},               // ? is *: the 1st to the 3rd only
		{"0 0 31 * *", nil},                           // June has no 31st
		{"0 0 * 7 *", nil},                            // not June
		{"0 0 15 6 1-5", []int{1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 29, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := parseSchedule(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for d := 1; d <= 30; d++ {
				if s.matchesDay(2026, time.June, d) {
					got = append(got, d)
				}
			}
			if !slices.Equal(got, tt.days) {
				t.Errorf("days %v, want %v", got, tt.days)
			}
		})
	}
}

func every(min, max int) []int {
	var out []int
	for v := min; v <= max; v++ {
		out = append(out, v)
	}
	return out
}
