package windows

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a parsed 5-field cron expression. Bit v of a field is set when the value v matches.
type schedule struct {
	minute, hour, dom, month, dow uint64 // dow: 0 = Sunday; 7 is folded into 0
	// domStar and dowStar record that the field is * or ? (Vixie cron, and Kubernetes CronJob through robfig/cron):
	// when both day fields are restricted a day matches either of them, otherwise it must match both.
	domStar, dowStar bool
}

// field describes one cron field: its range and, for month and day-of-week, the names of its values.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is the name of the value min+i
	question bool     // ? is accepted as *
}

var fields = [5]field{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, question: true},
	{name: "month", min: 1, max: 12,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"},
		question: true},
}

// parseSchedule parses "minute hour day-of-month month day-of-week". Each field is a comma-separated list of
// *, a value, or a range a-b, each optionally followed by /step; a value with a step (5/15) runs to the field's end.
// Month and day-of-week accept three-letter English names in any case, day-of-week 0 and 7 are Sunday, and the
// day fields accept ? for *. The error says what is wrong and what is expected, without the field path.
func parseSchedule(expr string) (schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) > 0 && (strings.HasPrefix(parts[0], "TZ=") || strings.HasPrefix(parts[0], "CRON_TZ=")) {
		return schedule{}, fmt.Errorf("%q carries a time zone prefix; remove it and set spec.timeZone instead", expr)
	}
	if len(parts) != 5 {
		return schedule{}, fmt.Errorf("%q has %d fields, want 5: minute hour day-of-month month day-of-week",
			expr, len(parts))
	}
	var s schedule
	var bits [5]uint64
	var star [5]bool
	for i, part := range parts {
		var err error
		if bits[i], star[i], err = fields[i].parse(part); err != nil {
			return schedule{}, fmt.Errorf("%w in %q", err, expr)
		}
	}
	s.minute, s.hour, s.dom, s.month, s.dow = bits[0], bits[1], bits[2], bits[3], bits[4]
	s.domStar, s.dowStar = star[2], star[4]
	if s.dow&(1<<7) != 0 {
		s.dow = s.dow&^(1<<7) | 1
	}
	if err := s.reachable(); err != nil {
		return schedule{}, fmt.Errorf("%w in %q", err, expr)
	}
	return s, nil
}

// parse returns the values a field matches and whether it is * (or ?) without a step beyond 1.
func (f field) parse(text string) (bits uint64, star bool, err error) {
	items := strings.Split(text, ",")
	for _, item := range items {
		if item == "" {
			return 0, false, fmt.Errorf("empty list item in the %s field %q", f.name, text)
		}
		span, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			if step, err = f.number(stepText); err != nil || step < 1 {
				return 0, false, fmt.Errorf("step %q in the %s field is not a whole number of at least 1",
					stepText, f.name)
			}
		}
		lo, hi := f.min, f.max
		switch {
		case span == "*" || (span == "?" && f.question):
			star = len(items) == 1 && step == 1
		default:
			first, last, isRange := strings.Cut(span, "-")
			if lo, err = f.value(first); err != nil {
				return 0, false, err
			}
			switch {
			case isRange:
				if hi, err = f.value(last); err != nil {
					return 0, false, err
				}
				if lo > hi {
					return 0, false, fmt.Errorf("range %q in the %s field runs backwards", span, f.name)
				}
			case !hasStep:
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << v
			if step > hi-v {
				break
			}
		}
	}
	return bits, star, nil
}

// value parses a value of the field: a number in its range or one of its names.
func (f field) value(text string) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(text, name) {
			return f.min + i, nil
		}
	}
	v, err := f.number(text)
	if err != nil {
		if f.names != nil {
			return 0, fmt.Errorf("%q in the %s field is neither a number nor a name like %s", text, f.name, f.names[1])
		}
		return 0, fmt.Errorf("%q in the %s field is not a number", text, f.name)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%s %d is out of range %d-%d", f.name, v, f.min, f.max)
	}
	return v, nil
}

// number parses unsigned decimal digits only (no sign, no spaces).
func (f field) number(text string) (int, error) {
	if text == "" || strings.TrimLeft(text, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.Atoi(text)
	if err != nil {
		return 0, err
	}
	return v, nil
}

// reachable rejects a schedule that never runs: a day of the month restricted to days that none of its months has
// ("0 0 30 2 *"). Any other schedule runs at least once every eight years (29 February).
func (s schedule) reachable() error {
	if s.domStar || !s.dowStar {
		return nil
	}
	for m := time.January; m <= time.December; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= daysIn(m); d++ {
			if s.dom&(1<<d) != 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("the day-of-month field names no day that its months have")
}

// daysIn is the most days month m can have (29 for February).
func daysIn(m time.Month) int {
	return time.Date(2000, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// matchesDay reports whether the schedule runs on the given calendar day.
func (s schedule) matchesDay(y int, m time.Month, d int) bool {
	if s.month&(1<<m) == 0 {
		return false
	}
	wd := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
	domOK, dowOK := s.dom&(1<<d) != 0, s.dow&(1<<wd) != 0
	if s.domStar || s.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// everyHour reports whether the hour field matches all 24 hours; such a schedule runs in both copies of a repeated
// local hour (see the package documentation).
func (s schedule) everyHour() bool {
	return s.hour == 1<<24-1
}
