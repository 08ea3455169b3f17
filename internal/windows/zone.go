package windows

import (
	"math"
	"time"
)

// Local times are handled as "walls": Unix seconds of the local date and clock time read as if they were UTC. An
// instant is also Unix seconds. A wall w read in a stretch of the zone with UTC offset o is the instant w - o.

// span is a stretch of time in which a zone keeps one UTC offset: instants in [start, end).
type span struct {
	start, end int64
	offset     int64 // seconds east of UTC
}

// margin is wider than any distance between a wall and its instant (UTC offsets stay within ±15 h) plus the longest
// jump a zone ever made (Pacific/Apia skipped a whole day in 2011).
const margin = 48 * 3600

// spansAround lists, in order, the stretches of loc that cover the instants [from-margin, to+margin]: every offset
// that a wall in [from, to] can be read in.
func spansAround(loc *time.Location, from, to int64) []span {
	var spans []span
	for at := from - margin; ; {
		t := time.Unix(at, 0).In(loc)
		_, offset := t.Zone()
		s := span{start: math.MinInt64, end: math.MaxInt64, offset: int64(offset)}
		start, end := t.ZoneBounds() // zero when the stretch is unbounded
		if !start.IsZero() {
			s.start = start.Unix()
		}
		if !end.IsZero() {
			s.end = end.Unix()
		}
		spans = append(spans, s)
		if s.end > to+margin || s.end <= at {
			return spans
		}
		at = s.end
	}
}

// resolve returns the instants at which the clocks of the zone read wall. It does not rely on time.Date, whose choice
// in a gap or an overlap Go leaves unspecified:
//   - a wall that exists once has one instant;
//   - a wall in an overlap (clocks went back) has two: first is the earlier one, twice is true;
//   - a wall in a gap (clocks jumped forward over it) is read with the offset in force before the jump, which is
//     the wall shifted forward by the length of the gap: 02:30 on a day Europe/Berlin jumps from 02:00 CET to
//     03:00 CEST is 03:30 CEST.
func resolve(wall int64, spans []span) (first, second int64, twice bool) {
	found := 0
	for _, s := range spans {
		t := wall - s.offset
		if t < s.start || t >= s.end {
			continue
		}
		switch {
		case found == 0:
			first, second = t, t
		case t < first:
			first = t
		case t > second:
			second = t
		}
		found++
	}
	if found > 0 {
		return first, second, first != second
	}
	for i := 1; i < len(spans); i++ {
		before, after := spans[i-1], spans[i]
		if t := wall - before.offset; t >= before.end && wall-after.offset < after.start {
			return t, t, false
		}
	}
	// Unreachable while spans cover the margin around wall; read the wall in the first stretch.
	return wall - spans[0].offset, wall - spans[0].offset, false
}

// bounds returns lower and upper such that every instant of a wall at or after wall is >= lower, and every instant
// of a wall before wall is < upper: wall read in the largest and the smallest offset of spans, which must cover
// wall's margin.
func bounds(wall int64, spans []span) (lower, upper int64) {
	hi, lo := spans[0].offset, spans[0].offset
	for _, s := range spans[1:] {
		hi, lo = max(hi, s.offset), min(lo, s.offset)
	}
	return wall - hi, wall - lo
}
